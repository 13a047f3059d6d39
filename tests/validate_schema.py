"""Validates a converge JSON document against schemas/NAME.schema.json.

Usage: validate_schema.py SCHEMAS_DIR NAME < document.json
Checks every schema against the JSON Schema 2020-12 metaschema, that every
property it declares has a description, then the document. Exit 0 when valid,
1 with the errors on standard error otherwise.
"""
import json
import pathlib
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource


def undocumented(node, path="#"):
    """Properties without a description (their own or their $ref's)."""
    found = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and "description" not in sub and "$ref" not in sub:
                found.append(f"{path}/properties/{name}")
        for key, sub in node.items():
            found += undocumented(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            found += undocumented(sub, f"{path}/{i}")
    return found


def main():
    schemas_dir, name = pathlib.Path(sys.argv[1]), sys.argv[2]
    schemas = {}
    problems = []
    for path in sorted(schemas_dir.glob("*.schema.json")):
        schema = json.loads(path.read_text())
        Draft202012Validator.check_schema(schema)
        problems += [f"{path.name}: {p} has no description" for p in undocumented(schema)]
        schemas[path.name.removesuffix(".schema.json")] = schema
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    validator = Draft202012Validator(schemas[name], registry=registry)
    document = json.load(sys.stdin)
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"{name}: at /{where}: {error.message}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


main()
