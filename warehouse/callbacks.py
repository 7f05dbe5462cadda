"""Airflow callbacks, importable by DAG files without pulling the pipeline in at parse time."""


def alert_task_failure(context) -> None:
    from warehouse.pipeline import alert_task_failure as alert

    alert(context)
