#!/usr/bin/python3
"""Validates nicperf's JSON output against schema/nicperf.schema.json.

Usage: /usr/bin/python3 schema_check.py SCHEMA KIND FILE

KIND is a $def of the schema (report, error_report, compare, diff, stream_event, ...), or:
  any     the whole schema (each line in turn when FILE holds JSON lines)
  stream  FILE holds one test's --json-stream output: every line is checked as a
          stream_event, and the lines together as a json_stream (start first, one end)
  event   every line of FILE is checked as a stream_event (a server's stream of many tests)

Prints one line per error ("FILE[:LINE]: PATH: MESSAGE") and exits 1 on any error, 0 when the
document is valid, 2 on a usage error. Needs Debian's python3-jsonschema (4.10 or later).
"""

import json
import re
import sys

try:
    import jsonschema
    from jsonschema.exceptions import best_match
except ImportError:
    print("schema_check: python3-jsonschema is missing (apt-get install python3-jsonschema)",
          file=sys.stderr)
    sys.exit(2)

# For KIND any: the $def whose errors explain why a document matches none. The verdict itself is
# always the whole schema's.
DISCRIMINATORS = [("diff", "diff"), ("compare", "compare"), ("event", "stream_event"),
                  ("error", "error_report")]

# json_stream's errors, by schema path, in words (their own messages quote the whole stream).
SEQUENCE_ERRORS = {
    ("minItems",): "no events",
    ("contains",): "no end or error event",
    ("prefixItems", 0): "the first event is not start, error or end",
    ("allOf", 0): "more than one start event",
    ("allOf", 1): "more than one end event",
}


def path_text(error):
    parts = ["$"]
    for p in error.absolute_path:
        parts.append("[%d]" % p if isinstance(p, int) else "." + str(p))
    return "".join(parts)


def unevaluated_message(error, errors):
    """error's message, without the keys it names only because an error inside them failed.

    A subschema that fails keeps no annotations, so unevaluatedProperties then reports the
    keys that subschema did cover; the error inside them is the one worth reading. Returns ""
    when nothing is left to report. (best_match has already replaced each anyOf/oneOf failure
    by its most relevant sub-error.)
    """
    if error.validator != "unevaluatedProperties":
        return error.message
    path = list(error.absolute_path)
    names = re.findall(r"'([^']*)'", error.message)
    inside = {e.absolute_path[len(path)] for e in errors
              if e is not error and len(e.absolute_path) > len(path) and
              list(e.absolute_path)[:len(path)] == path}
    left = [n for n in names if n not in inside]
    if not left:
        return ""
    return "Unevaluated properties are not allowed (%s %s unexpected)" % (
        ", ".join(repr(n) for n in left), "was" if len(left) == 1 else "were")


def validator_for(schema, kind):
    """A validator for the whole schema (kind None) or one of its $defs."""
    if kind is None:
        return jsonschema.Draft202012Validator(schema)
    # Every $ref in the schema is local ("#/$defs/..."), so a wrapper holding the same $defs
    # resolves them without a RefResolver (deprecated in newer jsonschema).
    wrapper = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/" + kind}
    return jsonschema.Draft202012Validator(wrapper)


class Checker:
    def __init__(self, schema):
        self.schema = schema
        self.validators = {}
        self.errors = 0

    def validator(self, kind):
        if kind not in self.validators:
            self.validators[kind] = validator_for(self.schema, kind)
        return self.validators[kind]

    def check(self, doc, kind, where):
        errors = list(self.validator(kind).iter_errors(doc))
        if not errors:
            return
        if kind is None:
            # Explain with the $def the document looks like it means to be.
            kind = "report"
            for key, name in DISCRIMINATORS:
                if isinstance(doc, dict) and key in doc:
                    kind = name
                    break
            explained = list(self.validator(kind).iter_errors(doc))
            if explained:
                errors = explained
            else:
                print("%s: $: matches %s but not exactly one document of the schema" %
                      (where, kind))
                self.errors += 1
                return
        leaves = [best_match([e]) for e in errors]
        before = self.errors
        for leaf in sorted(leaves, key=lambda e: list(map(str, e.absolute_path))):
            message = unevaluated_message(leaf, leaves)
            if message:
                print("%s: %s: %s" % (where, path_text(leaf), message[:300]))
                self.errors += 1
        if self.errors == before:  # never pass a document the validator failed
            print("%s: %s: %s" % (where, path_text(leaves[0]), leaves[0].message[:300]))
            self.errors += 1

    def check_sequence(self, events, name, last_line):
        """The order of one test's events: json_stream, less what check() said line by line."""
        found = False
        for error in self.validator("json_stream").iter_errors(events):
            where = list(error.relative_schema_path)
            if where[:1] == ["items"]:
                continue  # each line was checked on its own
            found = True
            words = SEQUENCE_ERRORS.get(tuple(where[:2])) or SEQUENCE_ERRORS.get(tuple(where[:1]))
            print("%s: %s" % (name, words or error.message[:120]))
            self.errors += 1
        last = events[-1]
        if not found and not (isinstance(last, dict) and last.get("event") in ("end", "error")):
            print("%s:%d: the stream does not end with an end or error event" % (name, last_line))
            self.errors += 1


def read_lines(name, text, checker):
    docs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            docs.append((number, json.loads(line)))
        except ValueError as e:
            print("%s:%d: not JSON: %s" % (name, number, e))
            checker.errors += 1
    if not docs and not checker.errors:
        print("%s: no JSON document" % name)
        checker.errors += 1
    return docs


def main(argv):
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema_path, kind, name = argv[1:]
    try:
        with open(schema_path) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        with open(name) as f:
            text = f.read()
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
        print("schema_check: %s" % str(e).splitlines()[0], file=sys.stderr)
        return 2
    defs = schema.get("$defs", {})
    if kind not in ("any", "stream", "event") and kind not in defs:
        print("schema_check: unknown KIND '%s' (any, stream, event, %s)" %
              (kind, ", ".join(sorted(defs))), file=sys.stderr)
        return 2
    checker = Checker(schema)

    if kind in ("stream", "event"):
        docs = read_lines(name, text, checker)
        for number, doc in docs:
            checker.check(doc, "stream_event", "%s:%d" % (name, number))
        if kind == "stream" and docs:
            checker.check_sequence([doc for _, doc in docs], name, docs[-1][0])
    else:
        target = None if kind == "any" else kind
        try:
            docs = [(None, json.loads(text))]
        except ValueError as e:
            if kind != "any":
                print("%s: not one JSON document: %s" % (name, e))
                return 1
            docs = read_lines(name, text, checker)  # JSON lines: each one on its own
        for number, doc in docs:
            checker.check(doc, target, name if number is None else "%s:%d" % (name, number))
    return 1 if checker.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
