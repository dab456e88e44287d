"""Client threads for load in a test: n at once, all waited for, and the
first failure any of them raised raised in the test, not lost on a thread."""

from concurrent.futures import ThreadPoolExecutor


def run_clients(n, client, during=None):
    """Runs client(i) for i in 0..n-1 on n threads at once; meanwhile calls
    during() (if given) on the test's thread; waits for every client and
    returns their results in order of i. An exception of a client is
    raised here once all have ended."""
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(client, i) for i in range(n)]
        if during is not None:
            during()
    return [f.result() for f in futures]
