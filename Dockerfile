# Orchard's Airflow image: Airflow 3 + Cosmos + dbt-clickhouse + dlt, the project installed editable.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    ORCHARD_HOME=/opt/orchard \
    DO_NOT_TRACK=1 \
    SCARF_NO_ANALYTICS=true \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    RUNTIME__DLTHUB_TELEMETRY=false

RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/orchard
COPY requirements.txt constraints.txt pyproject.toml ./
# requirements.txt includes the Celery provider and Flower (the `celery` compose profile)
RUN pip install -r requirements.txt -c constraints.txt
COPY . .
RUN pip install --no-deps -e . \
    # Cosmos renders the dbt project from a precompiled manifest: build it into the image.
    && orchard dbt manifest || echo "dbt manifest will be built at start-up"

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/orchard/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/orchard/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=false
