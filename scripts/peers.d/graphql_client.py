"""A stock GraphQL client for tests: PyPI's gql over HTTP (requests).

It fetches the schema by introspection (with the caller's token, so the
server's limits apply to introspection too), validates the query against it
on the client side as gql does, runs it, and prints one JSON object to
stdout: {"data": ..., "errors": [...]} (errors only when the server sent
some). Exit status 0 when the server answered, 2 when the client refused
the query or could not reach the server.
"""

import argparse
import json
import sys

from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("url", help="the /graphql endpoint")
    p.add_argument("--token", required=True, help="bearer token or API key")
    p.add_argument("--query", required=True, help="the query document")
    p.add_argument("--variables", default="{}", help="variables as JSON")
    args = p.parse_args()

    transport = RequestsHTTPTransport(
        url=args.url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30,
        retries=0,
    )
    client = Client(transport=transport, fetch_schema_from_transport=True)
    try:
        document = gql(args.query)
        with client as session:
            data = session.execute(document, variable_values=json.loads(args.variables))
        json.dump({"data": data}, sys.stdout)
    except TransportQueryError as e:
        json.dump({"data": e.data, "errors": e.errors}, sys.stdout)
    except Exception as e:  # noqa: BLE001 - reported to the test
        print(f"graphql client: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
