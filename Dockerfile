# syntax=docker/dockerfile:1
#
# gisplatform image: build a wheel in one stage, install it into a clean
# virtualenv, and run as an unprivileged user in a slim final stage.
#
#   docker build -t gisplatform .
#   docker run --rm -e DATABASE_URL=postgresql://... -p 8000:8000 gisplatform

ARG PYTHON_IMAGE=python:3.12-slim
ARG NODE_IMAGE=node:22-slim

# --- web assets: the web map's browser libraries from npm (package-lock.json) -------
FROM ${NODE_IMAGE} AS web
WORKDIR /src
COPY gisplatform/webmap/package.json gisplatform/webmap/package-lock.json gisplatform/webmap/
COPY scripts/install-web-assets.sh scripts/
# copies what the page loads into gisplatform/webmap/static/vendor (never a CDN at run time)
RUN bash scripts/install-web-assets.sh

# --- build: wheel + dependencies into /opt/venv -------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY gisplatform/ gisplatform/
COPY --from=web /src/gisplatform/webmap/static/vendor/ gisplatform/webmap/static/vendor/
RUN pip install --upgrade pip \
 && pip install .

# --- runtime -------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GISPLATFORM_LOG_JSON=true \
    GISPLATFORM_DATA_DIR=/var/lib/gisplatform
RUN groupadd --system --gid 10001 gisplatform \
 && useradd --system --uid 10001 --gid gisplatform --home-dir /app \
        --shell /usr/sbin/nologin gisplatform \
 && mkdir -p /app /var/lib/gisplatform \
 && chown gisplatform:gisplatform /var/lib/gisplatform
COPY --from=build /opt/venv /opt/venv
# Layer definitions are read at run time from the working directory.
COPY --chown=root:root layers/ /app/layers/
# Residents' report kinds, read beside the layers.
COPY --chown=root:root reports/ /app/reports/
# Demo data for `gisplatform demo`.
COPY --chown=root:root data/ /app/data/
WORKDIR /app
USER 10001:10001
EXPOSE 8000
CMD ["gisplatform", "serve", "--host", "0.0.0.0", "--port", "8000"]
