//! Benchmarks of the scoping crate (issue 3): a three-group scoping filter over 1,000,000
//! users, a 20-attribute mapping set with 5 expressions, and expression parse and evaluate.
//!
//! Run: `cargo bench -p idflow-benches --bench scoping`. With `--features mimalloc` the same
//! benchmarks run with mimalloc as the global allocator (a host's choice, reported apart).
//!
//! Building the 1,000,000 users takes a while and about 7 GB. `SCOPING_BENCH_USERS=10000`
//! builds only the first 10,000 (at least 10,000 are always built): every row that reads
//! 10,000 users or one measures what it always does, and the rows over 1,000,000 users are
//! skipped (`cargo bench -p idflow-benches --bench scoping -- mapping` with it set starts
//! in seconds).

// Bench inputs are fixed and checked before timing: a failure to build them should stop loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::sync::LazyLock;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use idflow_benches::connectors::hr_users;
use scim_model::Resource;
use scoping::{CompiledScopingFilter, EvalContext, Expression, MappingSet, ScopingFilter};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USERS: u64 = 1_000_000;

/// The users the rows over 10,000 users (and the expressions) read.
const FEW: usize = 10_000;

/// `USERS`, or fewer (never below `FEW`) when `SCOPING_BENCH_USERS` says so.
fn population_size() -> u64 {
    std::env::var("SCOPING_BENCH_USERS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(USERS, |n| n.clamp(FEW as u64, USERS))
}

static POPULATION: LazyLock<Vec<Resource>> =
    LazyLock::new(|| hr_users(0..population_size()).collect());

/// Three groups, as an HR pilot widens: IT and Engineering staff who are active; anyone in EMEA
/// Sales with a work email; managers hired under a given employee-number range.
const FILTER: &str = r#"[
  [{"sourceAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "operator": "EQUALS", "value": "Information Technology"},
   {"sourceAttribute": "active", "operator": "IS TRUE"}],
  [{"sourceAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division", "operator": "EQUALS", "value": "EMEA"},
   {"sourceAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "operator": "EQUALS", "value": "Sales"},
   {"sourceAttribute": "emails[type eq \"work\"].value", "operator": "ENDS_WITH", "value": "@contoso.example"}],
  [{"sourceAttribute": "title", "operator": "REGEX MATCH", "value": "^(Senior )?Manager$"},
   {"sourceAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "operator": "Less_Than", "value": 500000}]
]"#;

/// 20 mappings, 5 of them expressions, as an HR-to-directory job might have.
const MAPPINGS: &str = r#"[
  {"targetAttribute": "userName", "source": {"type": "Direct", "path": "userName"}, "matchingPriority": 1},
  {"targetAttribute": "externalId", "source": {"type": "Direct", "path": "externalId"}, "matchingPriority": 2},
  {"targetAttribute": "active", "source": {"type": "Direct", "path": "active"}},
  {"targetAttribute": "name.givenName", "source": {"type": "Direct", "path": "name.givenName"}},
  {"targetAttribute": "name.familyName", "source": {"type": "Direct", "path": "name.familyName"}},
  {"targetAttribute": "name.formatted", "source": {"type": "Direct", "path": "name.formatted"}},
  {"targetAttribute": "title", "source": {"type": "Direct", "path": "title"}},
  {"targetAttribute": "preferredLanguage", "source": {"type": "Direct", "path": "preferredLanguage"}},
  {"targetAttribute": "emails[type eq \"work\"].value", "source": {"type": "Direct", "path": "emails[type eq \"work\"].value"}},
  {"targetAttribute": "phoneNumbers[type eq \"work\"].value", "source": {"type": "Direct", "path": "phoneNumbers[type eq \"work\"].value"}},
  {"targetAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "source": {"type": "Direct", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"}},
  {"targetAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", "source": {"type": "Direct", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"}},
  {"targetAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "source": {"type": "Direct", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"}},
  {"targetAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division", "source": {"type": "Direct", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"}},
  {"targetAttribute": "userType", "source": {"type": "Constant", "value": "Employee"}},
  {"targetAttribute": "displayName", "source": {"type": "Expression", "expression": "Join(\" \", [name.givenName], [name.familyName])"}},
  {"targetAttribute": "nickName", "source": {"type": "Expression", "expression": "ToLower(Left([name.givenName], 3))"}},
  {"targetAttribute": "locale", "source": {"type": "Expression", "expression": "Switch([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division], \"en-US\", \"EMEA\", \"en-GB\")"}},
  {"targetAttribute": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:organization", "source": {"type": "Expression", "expression": "IIF([active] = \"True\", \"Contoso\", \"Contoso (former)\")"}},
  {"targetAttribute": "profileUrl", "source": {"type": "Expression", "expression": "Append(\"https://people.contoso.example/\", Replace([userName], \"@contoso.example\", , , \"\", , ))"}}
]"#;

/// Reference examples of the expression language (functions-for-customizing-application-data).
const EXPRESSIONS: [(&str, &str); 6] = [
    ("join", r#"Join(" ", [name.givenName], [name.familyName])"#),
    (
        "replace_regex",
        r#"Replace([userName], , "(?<name>.*)@(?<domain>.*)", , "${name}", , )"#,
    ),
    (
        "switch",
        r#"Switch([title], "Other", "Manager", "M", "Director", "D")"#,
    ),
    (
        "format_date",
        r#"FormatDateTime("20250102030405.0Z", , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#,
    ),
    (
        "normalize_lower",
        r#"ToLower(NormalizeDiacritics(Append([name.givenName], "é")))"#,
    ),
    (
        "nested_iif",
        r#"IIF(IsPresent([title]), Mid([title], 1, 3), Coalesce([nickName], "n/a"))"#,
    ),
];

fn ctx() -> EvalContext<'static> {
    EvalContext::new("2026-11-23T09:00:00Z".parse().unwrap())
}

fn scoping_filter(c: &mut Criterion) {
    let filter: CompiledScopingFilter = ScopingFilter::from_json_str(FILTER)
        .unwrap()
        .compile()
        .unwrap();
    let users = &*POPULATION;
    let in_scope = users.iter().filter(|u| filter.matches(u)).count();
    assert!(
        in_scope > 0 && in_scope < users.len(),
        "{in_scope} in scope"
    );
    let mut g = c.benchmark_group("scoping_filter");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(USERS));
    // The same filter over the first 10,000 users only (their maps fit in cache better): the
    // difference from the 1,000,000-user pass is what memory costs.
    let few = &users[..FEW];
    g.throughput(Throughput::Elements(few.len() as u64));
    g.bench_function("three_groups_10k_users", |b| {
        b.iter(|| few.iter().filter(|u| filter.matches(black_box(u))).count())
    });
    g.bench_function("three_groups_10k_users_matches_many", |b| {
        let mut out = Vec::with_capacity(few.len());
        b.iter(|| {
            out.clear();
            filter.matches_many(black_box(few), &mut out);
            out.iter().filter(|m| **m).count()
        })
    });
    if users.len() as u64 != USERS {
        eprintln!(
            "SCOPING_BENCH_USERS: {} users built, the rows over {USERS} users are skipped",
            users.len()
        );
        g.finish();
        return;
    }
    g.throughput(Throughput::Elements(USERS));
    g.bench_function("three_groups_1M_users", |b| {
        b.iter(|| {
            users
                .iter()
                .filter(|u| filter.matches(black_box(u)))
                .count()
        })
    });
    // The batch form, a page of 500 users at a time (the engine's and MemoryDirectory's
    // default page size).
    let mut batch = Vec::new();
    filter.matches_many(users, &mut batch);
    assert_eq!(batch.iter().filter(|m| **m).count(), in_scope);
    g.bench_function("three_groups_1M_users_matches_many", |b| {
        let mut out = Vec::with_capacity(500);
        b.iter(|| {
            let mut n = 0;
            for page in users.chunks(500) {
                out.clear();
                filter.matches_many(black_box(page), &mut out);
                n += out.iter().filter(|m| **m).count();
            }
            n
        })
    });
    g.finish();
}

fn mappings(c: &mut Criterion) {
    let set = MappingSet::from_json_str(MAPPINGS).unwrap();
    let ctx = ctx();
    let users = &POPULATION[..FEW];
    let first = set.create_attributes(&users[1], &ctx).unwrap();
    assert_eq!(first.len(), 20, "{first:?}");
    let mut g = c.benchmark_group("mapping");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(users.len() as u64));
    g.bench_function("create_20_attrs_5_exprs_10k_users", |b| {
        b.iter(|| {
            for u in users {
                black_box(set.create_attributes(u, &ctx).unwrap());
            }
        })
    });
    // The same set and users, one output map reused across the loop
    // (`create_attributes_into`): what a host that sends each user's attributes before
    // computing the next one's would use.
    let mut out = serde_json::Map::new();
    for u in users {
        set.create_attributes_into(u, &ctx, &mut out).unwrap();
        assert_eq!(out, set.create_attributes(u, &ctx).unwrap());
    }
    g.bench_function("create_20_attrs_5_exprs_10k_users_reuse", |b| {
        b.iter(|| {
            for u in users {
                set.create_attributes_into(u, &ctx, &mut out).unwrap();
                black_box(&out);
            }
        })
    });
    // An update against a target already in sync: the common case of a delta cycle.
    let targets: Vec<Resource> = users
        .iter()
        .map(|u| set.create_resource(u, &ctx).unwrap())
        .collect();
    assert!(set.update(&users[1], &targets[1], &ctx).unwrap().is_empty());
    g.bench_function("update_in_sync_10k_users", |b| {
        b.iter(|| {
            for (u, t) in users.iter().zip(&targets) {
                black_box(set.update(u, t, &ctx).unwrap());
            }
        })
    });
    g.finish();
}

fn expressions(c: &mut Criterion) {
    let user = POPULATION[1].clone();
    let ctx = ctx();
    let mut g = c.benchmark_group("expression");
    g.sample_size(30).measurement_time(Duration::from_secs(2));
    for (name, text) in EXPRESSIONS {
        let expr = Expression::parse(text).unwrap();
        expr.evaluate(&user, &ctx).unwrap();
        g.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| Expression::parse(black_box(text)).unwrap())
        });
        g.bench_function(format!("evaluate/{name}"), |b| {
            b.iter_batched_ref(
                || (),
                |_| expr.evaluate(black_box(&user), &ctx).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, expressions, mappings, scoping_filter);
criterion_main!(benches);
