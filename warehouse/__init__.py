"""The top of the house: the pipeline the DAGs run (pipeline), the CLI (__main__), the demo, the data team's
desk in text (desk), and running it on one machine (services, backup, the Airflow runner, assets, triggers and
callbacks). It may import every package below it (tests/test_layers.py); only the portal, the DAGs and the bench
import it."""
