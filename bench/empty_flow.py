"""An empty Prefect flow run: the fixed cost every `newswatch run` pays (Python start,
Prefect import, temporary API server, flow-run bookkeeping). The throughput benchmark
compares a run whose feeds all answer 304 against this."""

from prefect import flow


@flow(name="empty")
def empty() -> None:
    return None


if __name__ == "__main__":
    empty()
