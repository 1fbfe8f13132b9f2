"""Reading /metrics in tests: scrape the ASGI application, parse the text format."""

from channels.testing import HttpCommunicator

from chatsite.asgi import application


def parse(text: str) -> dict[str, float]:
    """{'name{labels}': value} for every sample line; comments skipped."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            samples[series] = float(value)
    return samples


async def scrape_response(
    client_address: str = "127.0.0.1", headers: list[tuple[bytes, bytes]] = ()
) -> tuple[int, str]:
    """GET /metrics through the full application, from `client_address` (the TCP
    peer), with any more `headers`."""
    communicator = HttpCommunicator(
        application, "GET", "/metrics", headers=[(b"host", b"127.0.0.1"), *headers]
    )
    # The address Daphne would put in the scope: /metrics is served by address.
    communicator.scope["client"] = (client_address, 50000)
    response = await communicator.get_response(timeout=5)
    return response["status"], response["body"].decode()


async def scrape() -> dict[str, float]:
    status, text = await scrape_response()
    assert status == 200, text
    return parse(text)


def increase(before: dict[str, float], after: dict[str, float], series: str) -> float:
    """How much a series grew between two scrapes (absent counts as 0)."""
    return after.get(series, 0.0) - before.get(series, 0.0)
