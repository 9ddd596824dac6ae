# syntax=docker/dockerfile:1
#
# gisplatform image: build a wheel in one stage, install it into a clean
# virtualenv, and run as an unprivileged user in a slim final stage.
#
#   docker build -t gisplatform .
#   docker run --rm -e DATABASE_URL=postgresql://... -p 8000:8000 gisplatform

ARG PYTHON_IMAGE=python:3.12-slim
ARG NODE_IMAGE=node:22-slim

# --- web assets (only when the repo has a package.json) -----------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /src
COPY . .
# Without package.json there is nothing to install; an empty node_modules keeps
# the later COPY working either way.
RUN if [ -f package.json ]; then \
        if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
        else npm install --no-audit --no-fund; fi; \
        if npm run | grep -q '^  build$'; then npm run build; fi; \
    fi \
 && mkdir -p node_modules

# --- build: wheel + dependencies into /opt/venv -------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY --from=web /src /src
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
# Demo data for `gisplatform demo`.
COPY --chown=root:root data/ /app/data/
WORKDIR /app
USER 10001:10001
EXPOSE 8000
CMD ["gisplatform", "serve", "--host", "0.0.0.0", "--port", "8000"]
