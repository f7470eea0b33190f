# One image for every process of the platform; docker-compose.yml picks the command.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
COPY migrations ./migrations
RUN pip install --no-cache-dir -e . && useradd --system iro
USER iro
EXPOSE 8000 8001 8002 8003
CMD ["iro", "--help"]
