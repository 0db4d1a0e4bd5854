"""Schemathesis hooks for scripts/fuzz-api: where what a check reports is
the API doing what API.md says, or the generator's own mistake, each
narrowed to exactly that (every dropped failure is counted and listed at
the end of the run). The other allowance, 412 and 413 for any data, is in
the configuration scripts/fuzz-api writes, with its reason.

1. `positive_data_acceptance` (ST202) expects every request the document
   calls valid to succeed. Two kinds of valid requests are refused by
   design, and no schema can tell them apart from the accepted ones:
   - a `cursor` the list did not issue: it is opaque (API.md, Collections),
     so a well-formed one is still 400 `invalid_cursor`;
   - a `per` whose filter the request does not give, or given with a
     `cursor` (API.md, Collections, batch reads): 400 `invalid_per`, a rule
     between parameters that no one parameter's schema states;
   - a 422 whose every field error is a rule no one field's schema states:
     the referenced record does not exist in the tenant (`not_found`,
     `unknown_customer`), fields that contradict each other
     (`inconsistent`, e.g. an end before the start), a time already past
     (`in_past`), a wrong current password or one-time code (`incorrect`),
     a permission only the platform tenant's roles may hold
     (`platform_only`), an identifier whose check digits do not match
     (`checksum`: an IBAN), what another record lacks for the act (`missing`:
     a release needs the seller's IBAN and the buyer's address), a credit
     beyond what remains of an invoice line (`exceeds_remaining`) or naming a
     line the invoice does not have (`unknown_line`), a time whose UTC date an offset carries past the
     year 9999 (`out_of_range`: JSON Schema bounds no `date-time`), or an
     `Idempotency-Key` reused with another body (`reused`, API.md, Writes).
     Any other 422 to valid data still fails the run.

2. Cases marked valid that are not: the coverage phase builds its cases on
   a template, and where it found no valid value for a part it puts an
   invalid one there, also into the cases it marks valid (`If-Match: 0`
   for a header none of whose values are plain letters and digits; a body
   `0`). An optional header or query parameter that does not fit its schema
   is taken out of such a case (it is valid again and still tests the
   rest); a case whose body does not fit is dropped. Negative cases are
   left as generated.

3. Each valid case with an `Idempotency-Key` gets a key of its own. The
   generator draws keys from a handful of short strings, so unrelated
   requests would share them and all but the first be 422 `reused` (as
   API.md wants): the operations would hardly ever be tried. Replays with
   the same key are tested by services/psa/tests/contract/.

4. Cases whose request target would be longer than the HTTP stack parses
   (the `http` crate's 65,534 bytes; hyper answers 414 with no body before
   any route sees the request) are not sent: negative data for a long
   comma list (`ids`, `customer_id`: up to 3,699 characters) can be emoji
   4,000 times over, 48 KB once percent-encoded, per parameter. They test
   the transport, not the API; each is counted like a dropped failure.

5. Not a check: `ast.parse` is serialized. Hypothesis parses the source of
   lambdas to describe strategies, from both workers at once, and CPython's
   AST constructor is not safe across threads (gh-106905: "AST constructor
   recursion depth mismatch", seen here with Python 3.11), which ended a
   run with an error that has nothing to do with the API.
"""

import ast
import atexit
import collections
import sys
import threading
import urllib.parse
import uuid

import schemathesis
from schemathesis.core import NOT_SET

_parse = ast.parse
_parse_lock = threading.Lock()


def _serialized_parse(*args, **kwargs):
    with _parse_lock:
        return _parse(*args, **kwargs)


ast.parse = _serialized_parse

# Field-error codes of rules beyond one field's schema (see above).
SEMANTIC_CODES = {
    "not_found",
    "unknown_customer",
    "inconsistent",
    "in_past",
    "incorrect",
    "platform_only",
    "checksum",
    "missing",
    "exceeds_remaining",
    "unknown_line",
    "out_of_range",
    "reused",
    # The DATEV export: a period DATEV does not take in one file.
    "spans_fiscal_years",
    "spans_calendar_years",
    "too_many",
    # Assets: an asset type's key, a parent cycle, custom fields the type
    # does not define, a field key twice.
    "immutable",
    "cycle",
    "unknown_field",
    "duplicate",
    # Notify: the SSRF guard's verdicts on a URL (a schema-valid URL may
    # point at a private, unresolvable or insecure destination), a time in
    # the future for a catch-up, an event-type pattern's form.
    "insecure_scheme",
    "address_not_allowed",
    "unresolvable",
    "credentials_in_url",
    "invalid_url",
    "in_future",
    "invalid_pattern",
    # Notification rules: recipients a channel's kind cannot reach, a
    # template that does not parse.
    "incompatible",
    "invalid_template",
}


def _problem(response):
    try:
        body = response.json()
    except Exception:
        return None
    return body if isinstance(body, dict) else None


# What was dropped, by operation and reason, for the summary at the end.
DROPPED = collections.Counter()


@atexit.register
def _summary():
    if not DROPPED:
        return
    print(
        "\nfuzz-api-hooks: dropped — valid requests refused by design (ST202), "
        "cases over the transport's limit (see the notes above):",
        file=sys.stderr,
    )
    for (operation, reason), count in sorted(DROPPED.items()):
        print(f"  {count:6}  {operation}: {reason}", file=sys.stderr)


def _by_design(case, response):
    """Why a valid request's refusal is the API doing what API.md says, or None."""
    problem = _problem(response)
    if problem is None:
        return None
    if response.status_code == 400 and problem.get("code") == "invalid_cursor":
        return "400 invalid_cursor" if "cursor" in (case.query or {}) else None
    if response.status_code == 400 and problem.get("code") == "invalid_per":
        return "400 invalid_per" if "per" in (case.query or {}) else None
    if response.status_code == 422:
        codes = {e.get("code") for e in problem.get("errors") or []}
        if codes and codes <= SEMANTIC_CODES:
            return "422 " + ", ".join(sorted(codes))
    return None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if failure.code != "ST202":
        return True
    reason = _by_design(case, response)
    if reason is None:
        return True
    DROPPED[(f"{case.method} {case.path}", reason)] += 1
    return False


def _positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


# The longest request target the HTTP stack parses (see 4.), less room for
# the path itself.
MAX_QUERY = 65534 - 1024


def _query_length(case):
    values = dict(case.query or {})
    values.update(case.path_parameters or {})
    return len(urllib.parse.urlencode(values, doseq=True))


@schemathesis.hook
def filter_case(context, case):
    if _query_length(case) > MAX_QUERY:
        DROPPED[(f"{case.method} {case.path}", "request target over 64 KiB")] += 1
        return False
    if not _positive(case) or case.body is NOT_SET or not case.media_type:
        return True
    body = case.operation.get_body_for_media_type(case.media_type)
    return body is None or body.is_valid(case.body)


@schemathesis.hook
def map_case(context, case):
    if not _positive(case):
        return case
    for parameters, values in ((case.operation.headers, case.headers), (case.operation.query, case.query)):
        if not values:
            continue
        for parameter in parameters:
            name = parameter.name
            if not parameter.is_required and name in values and not parameter.is_valid(values[name]):
                del values[name]
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    return case
