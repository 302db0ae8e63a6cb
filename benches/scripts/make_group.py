#!/usr/bin/env python3
"""Writes benches/data/group-100.json: a Group with 100 members, deterministically.

Member ids are UUIDv5 values derived from "member-NNN", so re-running this script gives
byte-identical output. The shape follows RFC 7643 §8.4 (members with value, $ref, display).
"""
import json
import pathlib
import uuid

NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")  # the RFC 4122 URL namespace


def member(i: int) -> dict:
    mid = str(uuid.uuid5(NAMESPACE, f"member-{i:03}"))
    return {
        "value": mid,
        "$ref": f"https://example.com/v2/Users/{mid}",
        "display": f"Member {i:03}",
    }


group = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
    "displayName": "Tour Guides",
    "members": [member(i) for i in range(1, 101)],
    "meta": {
        "resourceType": "Group",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34Z",
        "version": 'W/"3694e05e9dff592"',
        "location": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
    },
}

out = pathlib.Path(__file__).resolve().parent.parent / "data" / "group-100.json"
out.write_text(json.dumps(group, indent=2) + "\n")
print(f"wrote {out}")
