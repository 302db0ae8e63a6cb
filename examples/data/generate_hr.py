#!/usr/bin/env python3
"""Writes hr.csv: a deterministic HR export of 3,000 people for the hr_sync example.

The file is committed; this script only documents how it was made (python3 generate_hr.py).
Header cells are SCIM attribute paths, as idflow's CsvSource reads them.
"""
import csv
import random

random.seed(7)
FIRST = "Ada Alan Grace Edsger Barbara Donald Frances Ken Margaret Dennis Radia Tim Katherine Linus Hedy Guido Sophie Niklaus Joan Bjarne Anita John Mary Leslie Shafi Whitfield Karen Fernando Adele Butler".split()
LAST = "Lovelace Turing Hopper Dijkstra Liskov Knuth Allen Thompson Hamilton Ritchie Perlman Berners-Lee Johnson Torvalds Lamarr Rossum Wilson Wirth Clarke Stroustrup Borg McCarthy Shaw Lamport Goldwasser Diffie Jones Corbato Goldberg Lampson".split()
DEPTS = ["Engineering"] * 6 + ["Sales"] * 3 + ["Finance", "HR", "Support", "Support", "Marketing", "Contractors"]
TITLES = {"Engineering": "Engineer", "Sales": "Account Executive", "Finance": "Analyst", "HR": "HR Partner",
          "Support": "Support Engineer", "Marketing": "Marketer", "Contractors": "Contractor"}
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
N = 3000

header = ["externalId", "userName", "name.givenName", "name.familyName", "displayName", "title",
          'emails[type eq "work"].value', "active", f"{ENT}:employeeNumber", f"{ENT}:department",
          f"{ENT}:costCenter", f"{ENT}:manager.value"]
seen = set()
rows = []
for i in range(1, N + 1):
    first, last = random.choice(FIRST), random.choice(LAST)
    base = f"{first}.{last}".lower()
    name, n = base, 1
    while name in seen:
        n += 1
        name = f"{base}{n}"
    seen.add(name)
    dept = random.choice(DEPTS)
    eid = f"E{i:05d}"
    # Most managers come earlier in the file; one in ten later, so some references wait.
    if i <= 10:
        manager = ""
    elif random.random() < 0.1:
        manager = f"E{random.randint(1, N):05d}"
    else:
        manager = f"E{random.randint(1, max(10, i // 10)):05d}"
    if manager == eid:
        manager = "E00001"
    active = "true" if random.random() > 0.03 else "false"
    title = TITLES[dept] if i > 10 else "Director"
    rows.append([eid, f"{name}@contoso.com", first, last, f"{first} {last}", title,
                 f"{name}@contoso.com", active, str(10000 + i), dept, f"CC-{DEPTS.index(dept) + 100}",
                 manager])
with open("hr.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(header)
    w.writerows(rows)
