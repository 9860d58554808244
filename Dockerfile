FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY flows ./flows
COPY storage ./storage
COPY bot ./bot
RUN pip install --no-cache-dir .
ENV HUIFANG_HOST=0.0.0.0 HUIFANG_AUTO_MIGRATE=false
EXPOSE 8000
CMD ["huifang", "serve"]
