# One image for every Airflow service: the project's own lock file, so production runs the versions tests ran.
# --no-dev: the runtime dependencies only; the dev group (tests, lint) stays out of the image.
FROM python:3.11.10-slim-bookworm

# LibreOffice's Writer without its desktop, which turns a report's DOCX into its PDF (reports/pdf.py), and the
# Liberation fonts, metric-compatible with the Times New Roman the reports are laid out in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libreoffice-writer-nogui fonts-liberation2 \
    && rm -rf /var/lib/apt/lists/*

# UV_COMPILE_BYTECODE: the venv is root's and the services run as airflow, who cannot write __pycache__
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir uv==0.13.8 \
    && useradd --uid 50000 --gid 0 --create-home airflow

WORKDIR /opt/antq
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --no-cache
COPY . .
# The data folder and what the portal mounts of it are the airflow user's only; landing is shared with its group
# (0), where a provincial system may drop files as another account (docker-compose.yml); setgid keeps their group.
RUN uv sync --frozen --no-dev --no-cache \
    && mkdir -p /opt/antq/data/archive /opt/antq/data/quarantine /opt/antq/data/gx /opt/antq/landing \
    && chown -R airflow:0 /opt/antq \
    && chmod 0700 /opt/antq/data /opt/antq/data/archive /opt/antq/data/quarantine /opt/antq/data/gx \
    && chmod 2770 /opt/antq/landing

USER airflow
ENV AIRFLOW_HOME=/opt/antq/data/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/antq/dags \
    ANTQ_DATA_DIR=/opt/antq/data \
    ANTQ_LANDING_DIR=/opt/antq/landing

# Every process, Airflow's services and their tasks included, writes files its owner's only (0600, folders 0700);
# python -m warehouse and the portal set it again themselves (core/settings.py, keep_files_private).
ENTRYPOINT ["/bin/sh", "-c", "umask 0077 && exec \"$@\"", "antq"]
CMD ["python3"]
