#!/usr/bin/env bash
# Runs once, on an empty data volume: the warehouse and Airflow's metadata get a database and owner each.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
-- antq runs the pipeline: it creates the loader, transformer and reader roles (warehouse/security.py).
create role antq login createrole password '${ANTQ_DB_PASSWORD}';
create database antq owner antq;
create role airflow login password '${AIRFLOW_DB_PASSWORD}';
create database airflow owner airflow;
SQL
