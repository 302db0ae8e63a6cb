//! Filter and attribute-path parsing and printing, against the conformance corpus
//! (`filters/*.json`, `paths.json`, `entra/quirks.json`) and as properties.
//!
//! The corpus writes expected trees in a neutral notation (`[op, path, value]`, `["pr", path]`,
//! `["and"|"or", A, B]`, `["not", A]`, `["vp", attr, F]`); [`ast`] converts our [`Filter`] to
//! it and [`normalized`] lower-cases the paths of both sides, since attribute names compare
//! case-insensitively. Every valid filter is also checked to print to a form that parses back
//! to the same tree.
//!
//! Choices on the corpus's contested and peer-specific cases (see `src/filter/parser.rs`):
//! - Unquoted values (`externalId eq jyoung`, ENTRA-Q1) are rejected, as RFC 7644 says.
//! - Raw line breaks inside strings (SCIMple's lenient literals) are rejected, as JSON says.
//! - Entra's `emails[type eq "work"].value eq "x"` (ENTRA-Q2) is accepted: a comparison whose
//!   path carries the value filter and the sub-attribute.
//! - UnboundID's lenient paths (the empty root path, `urn:x:` schema roots, several filters in
//!   one path) and SCIMple's `attr[f] and g` PATCH path are rejected, as RFC 7644 §3.5.2 says.
//! - elimity's "Validate() rejects" (`active gt true`) and its schema-aware invalid paths
//!   (`name.invalid`) are well-formed; they fail at evaluation or schema resolution, so here
//!   they must parse.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a broken corpus file or a failed \
              expectation should stop the test loudly"
)]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use scim_model::{AttributePath, CompValue, CompareOp, Error, Filter, Limits, ScimType};
use serde_json::{Value, json};

use crate::support::conformance;

// ---------------------------------------------------------------------------------------------
// The neutral AST notation.
// ---------------------------------------------------------------------------------------------

/// Our tree in the corpus's notation.
fn ast(f: &Filter) -> Value {
    match f {
        Filter::Compare { path, op, value } => {
            json!([op.as_str(), path.to_string(), value.to_json()])
        }
        Filter::Present(path) => json!(["pr", path.to_string()]),
        Filter::And(a, b) => json!(["and", ast(a), ast(b)]),
        Filter::Or(a, b) => json!(["or", ast(a), ast(b)]),
        Filter::Not(a) => json!(["not", ast(a)]),
        Filter::ValuePath { path, filter } => json!(["vp", path.to_string(), ast(filter)]),
        other => panic!("filter kind unknown to the test: {other:?}"),
    }
}

/// The notation with every path lower-cased (values untouched).
fn normalized(v: &Value) -> Value {
    let Some(items) = v.as_array() else {
        return v.clone();
    };
    let op = items[0].as_str().unwrap_or_default();
    match op {
        "and" | "or" | "not" => {
            let mut out = vec![items[0].clone()];
            out.extend(items[1..].iter().map(normalized));
            Value::Array(out)
        }
        _ => {
            let mut out = items.clone();
            out[1] = json!(items[1].as_str().unwrap().to_ascii_lowercase());
            if op == "vp" {
                out[2] = normalized(&items[2]);
            }
            Value::Array(out)
        }
    }
}

fn same_ast(ours: &Filter, expected: &Value) -> bool {
    normalized(&ast(ours)) == normalized(expected)
}

/// `parse(print(f)) == f`, and printing is stable.
fn assert_round_trip(f: &Filter, input: &str) {
    let printed = f.to_string();
    let again = Filter::parse(&printed)
        .unwrap_or_else(|e| panic!("{input:?} printed as {printed:?}, which fails: {e}"));
    assert_eq!(&again, f, "{input:?} printed as {printed:?}");
    assert_eq!(again.to_string(), printed);
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// Parses every `filter` of `cases` and compares with its `ast`; returns how many passed.
fn check_ast_cases(file: &str, cases: &Value) -> usize {
    let mut failures = Vec::new();
    let cases = cases.as_array().unwrap();
    for case in cases {
        let input = case["filter"].as_str().unwrap();
        match Filter::parse(input) {
            Ok(f) if same_ast(&f, &case["ast"]) => assert_round_trip(&f, input),
            Ok(f) => failures.push(format!(
                "{} {input:?}: got {}, expected {}",
                case["id"],
                ast(&f),
                case["ast"]
            )),
            Err(e) => failures.push(format!("{} {input:?}: {e}", case["id"])),
        }
    }
    assert!(failures.is_empty(), "{file}:\n{}", failures.join("\n"));
    println!("{file}: {} of {} cases pass", cases.len(), cases.len());
    cases.len()
}

fn assert_invalid_filter(input: &str) -> Error {
    match Filter::parse(input) {
        Ok(f) => panic!("{input:?} must not parse, got {f:?}"),
        Err(e) => {
            assert_eq!(
                e.scim_type(),
                Some(ScimType::InvalidFilter),
                "{input:?}: {e}"
            );
            assert_eq!(e.status(), 400);
            e
        }
    }
}

fn assert_invalid_path(input: &str) -> Error {
    match AttributePath::parse(input) {
        Ok(p) => panic!("path {input:?} must not parse, got {p:?}"),
        Err(e) => {
            assert_eq!(e.scim_type(), Some(ScimType::InvalidPath), "{input:?}: {e}");
            assert_eq!(e.status(), 400);
            e
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The corpus.
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc7644_examples_parse_to_their_trees() {
    let file = conformance("filters/rfc7644-3.4.2.2-examples.json");
    assert_eq!(
        check_ast_cases("rfc7644-3.4.2.2-examples", &file["cases"]),
        19
    );
}

#[test]
fn unboundid_valid_filters_parse_to_their_trees() {
    let file = conformance("filters/unboundid-parse.json");
    assert_eq!(
        check_ast_cases("unboundid-parse valid", &file["valid"]["cases"]),
        34
    );
}

#[test]
fn unboundid_invalid_filters_are_rejected() {
    let file = conformance("filters/unboundid-parse.json");
    let cases = file["invalid"]["cases"].as_array().unwrap();
    for case in cases {
        assert_invalid_filter(case["filter"].as_str().unwrap());
    }
    assert_eq!(cases.len(), 38);
    println!(
        "unboundid-parse invalid: {} of {} rejected",
        cases.len(),
        cases.len()
    );
}

#[test]
fn go_filter_parser_cases() {
    let file = conformance("filters/go-scim2-filter-parser.json");
    let extra = strings(&file["valid_extra"]["filters"]);
    for input in &extra {
        let f = Filter::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_round_trip(&f, input);
    }
    // `a and not (b) and c` chains left-to-right.
    assert_eq!(
        normalized(&ast(&Filter::parse(extra[1]).unwrap())),
        normalized(&json!([
            "and",
            ["and", ["pr", "name"], ["not", ["eq", "first", "test"]]],
            ["ne", "another", "test"]
        ]))
    );
    // Upper-case keywords give the same tree as lower-case ones (paths keep their spelling).
    assert_eq!(
        normalized(&ast(&Filter::parse(extra[2]).unwrap())),
        normalized(&ast(&Filter::parse(extra[1]).unwrap()))
    );

    // Print round trips: the Go printer's output parses to the same tree, and so does ours.
    let cases = file["print_roundtrip"]["cases"].as_array().unwrap();
    for case in cases {
        let input = case["input"].as_str().unwrap();
        let printed = case["printed"].as_str().unwrap();
        let f = Filter::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(Filter::parse(printed).unwrap(), f, "{}", case["id"]);
        assert_round_trip(&f, input);
        // Ours differs from Go's only in writing `not (` where Go writes `not(`.
        assert_eq!(
            f.to_string().replace("not (", "not("),
            printed,
            "{}",
            case["id"]
        );
    }

    // Number literals keep their JSON kind: integers stay integers, exponents are decimals.
    let numbers = file["numbers"]["cases"].as_array().unwrap();
    for case in numbers {
        let literal = case["literal"].as_str().unwrap();
        let f = Filter::parse(&format!("n eq {literal}")).unwrap();
        let Filter::Compare {
            value: CompValue::Number(n),
            ..
        } = &f
        else {
            panic!("{f:?}")
        };
        assert_eq!(Value::Number(n.clone()), case["value"], "{literal}");
        assert_eq!(n.is_i64(), case["value"].is_i64(), "{literal}");
        assert_round_trip(&f, literal);
    }
    println!(
        "go-scim2-filter-parser: {} valid, {} print round trips, {} numbers pass",
        extra.len(),
        cases.len(),
        numbers.len()
    );
}

#[test]
fn scimple_parse_valid_and_lenient_literals() {
    let file = conformance("filters/scimple.json");
    let valid = strings(&file["parse_valid"]["filters"]);
    for input in &valid {
        let f = Filter::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_round_trip(&f, input);
    }
    assert_eq!(valid.len(), 39);
    // Upper-case logical and attribute operators give the same trees as lower-case ones.
    assert_eq!(
        Filter::parse(valid[31]).unwrap(),
        Filter::parse(valid[30]).unwrap(),
        "{} vs {}",
        valid[31],
        valid[30]
    );
    // Our choice: raw control characters in strings are not JSON, so they are rejected.
    let lenient = strings(&file["lenient_string_literals"]["filters"]);
    for input in &lenient {
        let e = assert_invalid_filter(input);
        assert!(e.to_string().contains("invalid JSON string"), "{e}");
    }
    // Its evaluation filters are all well-formed.
    for case in file["eval"]["cases"].as_array().unwrap() {
        let input = case["filter"].as_str().unwrap();
        assert_round_trip(&Filter::parse(input).unwrap(), input);
    }
    println!(
        "scimple: {} parse-valid pass, {} lenient literals rejected (our choice)",
        valid.len(),
        lenient.len()
    );
}

#[test]
fn evaluation_corpus_filters_all_parse() {
    // elimity's "Validate() rejects" are schema checks (ordering on boolean/binary): they
    // parse, and evaluation decides.
    let elimity = conformance("filters/elimity-eval.json");
    let mut inputs: Vec<String> = strings(&elimity["validate_rejects"]["cases"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    for key in ["count_cases", "extension_count_cases", "operator_matrix"] {
        let cases = &elimity[key];
        let cases = cases.get("cases").unwrap_or(cases);
        for case in cases.as_array().unwrap() {
            inputs.push(case["filter"].as_str().unwrap().to_owned());
        }
    }
    let unboundid = conformance("filters/unboundid-eval.json");
    for case in unboundid["cases"].as_array().unwrap().iter().chain(
        unboundid["complex_value_filter"]["cases"]
            .as_array()
            .unwrap(),
    ) {
        inputs.push(case["filter"].as_str().unwrap().to_owned());
    }
    for input in &inputs {
        let f = Filter::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_round_trip(&f, input);
    }
    // Attributes may be called `true` or `null`: only the value position holds literals.
    let f = Filter::parse("null eq null").unwrap();
    assert_eq!(ast(&f), json!(["eq", "null", null]));
    println!(
        "evaluation corpora: {} filters parse and round-trip",
        inputs.len()
    );
}

#[test]
fn entra_quirks() {
    let file = conformance("entra/quirks.json");
    let quirk = |id: &str| {
        file["quirks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == id)
            .unwrap()["input"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // ENTRA-Q1: our choice is the RFC's, an unquoted value is an error that says to quote it.
    let e = assert_invalid_filter(&quirk("ENTRA-Q1"));
    assert!(e.to_string().contains("unquoted word 'jyoung'"), "{e}");
    assert!(e.to_string().contains("\"jyoung\""), "{e}");

    // ENTRA-Q2: accepted; the path carries the value filter and the sub-attribute.
    let q2 = quirk("ENTRA-Q2");
    let f = Filter::parse(&q2).unwrap();
    let Filter::Compare { path, op, value } = &f else {
        panic!("{f:?}")
    };
    assert_eq!(path.name(), "emails");
    assert_eq!(path.sub_attribute(), Some("value"));
    assert_eq!(ast(path.filter().unwrap()), json!(["eq", "type", "work"]));
    assert_eq!(*op, CompareOp::Eq);
    assert_eq!(*value, CompValue::String("user@contoso.com".to_owned()));
    assert_eq!(f.to_string(), q2);
    assert_round_trip(&f, &q2);
    let present = Filter::parse(r#"emails[type eq "work"].value pr"#).unwrap();
    assert!(matches!(&present, Filter::Present(p) if p.filter().is_some()));
    // Combined with other terms, it is still one comparison.
    let f = Filter::parse(&format!("userName pr and {q2}")).unwrap();
    assert!(matches!(&f, Filter::And(_, b) if matches!(**b, Filter::Compare { .. })));

    // ENTRA-Q3: an ordinary filter.
    let q3 = quirk("ENTRA-Q3");
    assert_eq!(
        ast(&Filter::parse(&q3).unwrap()),
        json!(["eq", "userName", "user@contoso.com"])
    );
}

// ---------------------------------------------------------------------------------------------
// paths.json
// ---------------------------------------------------------------------------------------------

/// Compares a parsed path with the corpus's `{urn, elements: [{attr, filter}]}`.
fn same_structure(p: &AttributePath, parsed: &Value) -> bool {
    let urn_ok = match (p.urn(), parsed["urn"].as_str()) {
        (None, None) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    };
    let elements = parsed["elements"].as_array().unwrap();
    let first = &elements[0];
    let name_ok = first["attr"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(p.name());
    let filter_ok = match (p.filter(), first["filter"].is_null()) {
        (None, true) => true,
        (Some(f), false) => same_ast(f, &first["filter"]),
        _ => false,
    };
    let sub_ok = match (p.sub_attribute(), elements.get(1)) {
        (None, None) => true,
        (Some(sub), Some(e)) => {
            e["filter"].is_null() && e["attr"].as_str().unwrap().eq_ignore_ascii_case(sub)
        }
        _ => false,
    };
    urn_ok && name_ok && filter_ok && sub_ok && elements.len() <= 2
}

fn check_structured_paths(group: &str, cases: &Value) -> usize {
    let cases = cases.as_array().unwrap();
    for case in cases {
        let input = case["path"].as_str().unwrap();
        let p = AttributePath::parse(input).unwrap_or_else(|e| panic!("{group} {input:?}: {e}"));
        assert!(
            same_structure(&p, &case["parsed"]),
            "{group} {input:?}: got {p:?}"
        );
        // Printing gives the input back (SCIMple asserts this case-insensitively for the RFC
        // examples), up to redundant parentheses.
        if !input.contains('(') {
            assert!(
                p.to_string().eq_ignore_ascii_case(input),
                "{input:?} printed as {p}"
            );
        }
        assert_eq!(AttributePath::parse(&p.to_string()).unwrap(), p);
    }
    cases.len()
}

#[test]
fn paths_json() {
    let file = conformance("paths.json");
    let rfc = check_structured_paths("rfc7644_3.5.2", &file["rfc7644_3.5.2_examples"]["cases"]);
    let ub = check_structured_paths("unboundid", &file["unboundid"]["valid"]);

    let go = strings(&file["go_filter_parser"]["valid"]);
    for input in &go {
        let p = AttributePath::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(p.name(), "name");
        assert_eq!(p.sub_attribute(), Some("familyName"));
        assert_eq!(p.to_string(), *input);
    }
    assert_eq!(
        AttributePath::parse(go[1]).unwrap().urn(),
        Some("urn:example:scim:schemas:extension:my-custom-ext:1.0:User")
    );

    // elimity's schema-aware cases: all well-formed; the invalid ones fail schema resolution,
    // not parsing.
    let el_valid = strings(&file["elimity_schema_aware"]["valid"]);
    let el_invalid = strings(&file["elimity_schema_aware"]["invalid"]);
    for input in el_valid.iter().chain(&el_invalid) {
        let p = AttributePath::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(p.to_string(), *input);
    }

    // UnboundID's lenient forms: rejected (our choice, the RFC's PATH grammar).
    let lenient: Vec<&str> = file["unboundid"]["lenient_valid_peer_only"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    for input in &lenient {
        assert_invalid_path(input);
    }
    let invalid = strings(&file["unboundid"]["invalid"]);
    for input in &invalid {
        assert_invalid_path(input);
    }

    let entra = strings(&file["entra_mapping_paths"]["paths"]);
    for input in &entra {
        let p = AttributePath::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(p.to_string(), *input);
    }
    let upper = AttributePath::parse(r#"emails[type eq "other"].Value"#).unwrap();
    let lower = AttributePath::parse(r#"emails[type eq "other"].value"#).unwrap();
    assert!(upper.eq_ignore_case(&lower));
    assert_ne!(upper, lower, "spelling is kept");

    println!(
        "paths.json: rfc {rfc}, unboundid valid {ub}, go {}, elimity {} (+{} schema-invalid that \
         parse), entra {} pass; unboundid invalid {} and lenient {} rejected",
        go.len(),
        el_valid.len(),
        el_invalid.len(),
        entra.len(),
        invalid.len(),
        lenient.len()
    );
}

#[test]
fn patch_paths_beyond_the_corpus() {
    // A bare extension URN addresses the whole block: URN up to the last ':', name after it.
    let p =
        AttributePath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
    assert_eq!(
        p.urn(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0")
    );
    assert_eq!(p.name(), "User");
    // SCIMple accepts a whole filter as a PATCH path; the RFC does not, nor do we.
    assert_invalid_path(r#"emails[type EQ "home"] and value ew "example.com""#);
    // No surrounding whitespace, one filter, one sub-attribute.
    for bad in [
        " members",
        "members ",
        "a.b.c",
        "a[b pr][c pr]",
        "a[b pr].c.d",
        "a[b pr]c",
    ] {
        assert_invalid_path(bad);
    }
    // A filter error inside a path is reported as a path error, at its position in the path.
    let e = assert_invalid_path(r#"members[value eq]"#);
    assert!(
        matches!(e, Error::InvalidPath { position: 16, .. }),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Snapshots: the printed form and the error messages.
// ---------------------------------------------------------------------------------------------

#[test]
fn printed_forms() {
    let inputs = [
        r#"emails[type eq "work" and value co "@example.com"] or userName Eq "bjensen""#,
        r#"NAME PR AND NOT (FIRST EQ "test") AND ANOTHER NE "test""#,
        r#"(a eq "1" and b eq "2") or c eq "3""#,
        r#"a eq "1" and (b eq "2" and c eq "3")"#,
        r#"a eq "1" or (b eq "2" or c eq "3")"#,
        r#"((a eq "1" or b eq "2")) and not(c eq "3" and d pr)"#,
        r#"userName co "\ufe00\"\n\t\\" and x eq "\u00e9""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
        r#"n eq -5.1e-2 or n eq -510 or n ge 1E3 or b eq false or z eq null"#,
        r#"emails[type eq "work"].value eq "user@contoso.com""#,
        r#"topicPreferences[(id eq "x" and strength eq 10)]"#,
    ];
    let out: Vec<String> = inputs
        .iter()
        .map(|i| format!("{i}\n  => {}", Filter::parse(i).unwrap()))
        .collect();
    insta::assert_snapshot!(out.join("\n"));
}

#[test]
fn error_messages() {
    let filters = [
        "",
        "userName foo \"x\"",
        "userName eq",
        "userName eq jyoung",
        "userName eq 'bjensen'",
        "userName eq True",
        "userName eq \"a\\qb\"",
        "userName eq \"unterminated",
        "userName eq 12abc",
        "title pr and",
        "and or",
        "not userName pr",
        "(userName pr",
        "userName pr)",
        "()",
        "emails[type eq \"work\"",
        "emails[type[value pr]]",
        "name.givenName[value pr]",
        "[value eq \"x\"]",
        "userName eq \"x\" userName pr",
        "foo:bar pr",
        "urn:attr pr",
        "1abc pr",
        "a.b.c pr",
        "é eq \"x\"",
        "emails[type eq \"work\"] eq \"x\"",
    ];
    let paths = [
        "",
        "attr.",
        ".attr",
        "urn:extension:",
        "attr[].subAttr",
        "a[b pr].c[d pr]",
    ];
    let mut out: Vec<String> = filters
        .iter()
        .map(|i| format!("filter {i:?}\n  => {}", Filter::parse(i).unwrap_err()))
        .collect();
    out.extend(
        paths
            .iter()
            .map(|i| format!("path {i:?}\n  => {}", AttributePath::parse(i).unwrap_err())),
    );
    insta::assert_snapshot!(out.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Limits.
// ---------------------------------------------------------------------------------------------

#[test]
fn hostile_nesting_fails_fast_without_overflowing() {
    let limits = Limits::DEFAULT.with_max_filter_len(1 << 20);
    for (open, close) in [("(", ")"), ("not(", ")"), ("not (", ")")] {
        let n = 100_000 / open.len();
        let input = format!("{}a pr{}", open.repeat(n), close.repeat(n));
        let start = Instant::now();
        let e = Filter::parse_with(&input, &limits).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooDeep {
                    what: "filter",
                    max: 64
                }
            ),
            "{e:?}"
        );
        assert!(start.elapsed() < Duration::from_secs(2));
        // Unbalanced too.
        let e = Filter::parse_with(&open.repeat(n), &limits).unwrap_err();
        assert!(matches!(e, Error::TooDeep { .. }), "{e:?}");
    }
    // Brackets cannot nest at all; a long `and` chain builds a deep tree and is refused too.
    let chain = vec!["a pr"; 10_000].join(" and ");
    let e = Filter::parse_with(&chain, &limits).unwrap_err();
    assert!(matches!(e, Error::TooDeep { .. }), "{e:?}");
    // Without the raised length limit, the default 8 KiB applies first.
    let e = Filter::parse(&"(".repeat(100_000)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLong {
                what: "filter",
                len: 100_000,
                max: 8192
            }
        ),
        "{e:?}"
    );
    let e = AttributePath::parse(&"a".repeat(9000)).unwrap_err();
    assert!(matches!(e, Error::TooLong { what: "path", .. }), "{e:?}");
}

#[test]
fn parser_stack_use_does_not_grow_with_nesting() {
    // With the depth limit raised, 20,000 parentheses parse on a 256 KiB stack: the parser
    // keeps open groups on the heap. (Parentheses add no tree depth; `not` would, and a tree
    // that deep is the host's to print, evaluate and drop.)
    let outcome = std::thread::Builder::new()
        .stack_size(256 << 10)
        .spawn(|| {
            let n = 20_000;
            let limits = Limits::DEFAULT
                .with_max_filter_len(1 << 20)
                .with_max_depth(n);
            let ok = format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
            let over = format!("({ok})");
            let inside = format!("x[{}a pr{}]", "( ".repeat(n - 1), " )".repeat(n - 1));
            (
                Filter::parse_with(&ok, &limits).map(|f| f.to_string()),
                Filter::parse_with(&over, &limits).is_err(),
                Filter::parse_with(&inside, &limits).map(|f| f.to_string()),
            )
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(outcome.0.unwrap(), "a pr");
    assert!(outcome.1);
    assert_eq!(outcome.2.unwrap(), "x[a pr]");
}

#[test]
fn long_inputs_parse_in_linear_time() {
    let limits = Limits::DEFAULT.with_max_filter_len(8 << 20);
    let start = Instant::now();
    // A 4 MB string value, with escapes.
    let big = "x\\\"".repeat(1 << 20);
    let f = Filter::parse_with(&format!("a eq \"{big}\""), &limits).unwrap();
    assert!(matches!(f, Filter::Compare { value: CompValue::String(s), .. } if s.len() == 2 << 20));
    // A 1 MB attribute path, and a long run of whitespace.
    let name = "a".repeat(1 << 20);
    assert!(Filter::parse_with(&format!("{name} pr"), &limits).is_ok());
    let spaces = " ".repeat(1 << 20);
    assert!(Filter::parse_with(&format!("{spaces}a pr{spaces}and b pr{spaces}"), &limits).is_ok());
    // 64-term chains nested inside parentheses stay within depth 64... and are fast.
    let chain = vec!["a pr"; 64].join(" or ");
    let input = vec![format!("({chain})"); 2000].join(" and ");
    let e = Filter::parse_with(&input, &limits).unwrap_err();
    assert!(matches!(e, Error::TooDeep { .. }));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

// ---------------------------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------------------------

/// Attribute names; `not`, `and` and `or` are reserved where a filter may start.
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,6}|\\$ref".prop_filter("reserved word", |n| {
        !["not", "and", "or"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(n))
    })
}

fn attr_path() -> impl Strategy<Value = AttributePath> {
    let urn = prop_oneof![
        3 => Just(None),
        1 => Just(Some("urn:ietf:params:scim:schemas:core:2.0:User")),
        1 => Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")),
        1 => Just(Some("URN:contoso:employee")),
    ];
    (urn, name(), proptest::option::of(name())).prop_map(|(urn, name, sub)| {
        let mut p = AttributePath::new(name);
        if let Some(urn) = urn {
            p = p.with_urn(urn);
        }
        if let Some(sub) = sub {
            p = p.with_sub_attribute(sub);
        }
        p
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        // Decimals with few digits: serde_json (without `float_roundtrip`) reads those back
        // exactly.
        (-1_000_000i64..1_000_000, 0u32..4).prop_map(|(m, e)| {
            let x = m as f64 / 10f64.powi(e as i32);
            CompValue::Number(serde_json::Number::from_f64(x).unwrap())
        }),
        any::<String>().prop_map(CompValue::String),
    ]
}

fn compare_op() -> impl Strategy<Value = CompareOp> {
    prop_oneof![
        Just(CompareOp::Eq),
        Just(CompareOp::Ne),
        Just(CompareOp::Co),
        Just(CompareOp::Sw),
        Just(CompareOp::Ew),
        Just(CompareOp::Gt),
        Just(CompareOp::Ge),
        Just(CompareOp::Lt),
        Just(CompareOp::Le),
    ]
}

/// Filters without value paths: what may appear inside brackets.
fn inner_filter() -> impl Strategy<Value = Filter> {
    let leaf =
        prop_oneof![
            (attr_path(), compare_op(), comp_value())
                .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
            attr_path().prop_map(Filter::Present),
        ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::negate),
        ]
    })
}

/// Any filter the parser can produce.
fn filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        4 => inner_filter(),
        1 => (name(), inner_filter()).prop_map(|(n, f)| Filter::ValuePath {
            path: AttributePath::new(n),
            filter: Box::new(f),
        }),
        1 => (name(), inner_filter(), name(), compare_op(), comp_value()).prop_map(
            |(n, f, sub, op, value)| Filter::Compare {
                path: AttributePath::new(n).with_filter(f).with_sub_attribute(sub),
                op,
                value,
            }
        ),
    ];
    leaf.prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::negate),
        ]
    })
}

/// Inputs made of the grammar's pieces in random order, plus random text.
fn filterish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just(".".to_owned()),
        Just(":".to_owned()),
        Just("not".to_owned()),
        Just("NOT(".to_owned()),
        Just("and".to_owned()),
        Just("or".to_owned()),
        Just("pr".to_owned()),
        Just("eq".to_owned()),
        Just("Ge".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("-1.5e3".to_owned()),
        Just("urn:a:b".to_owned()),
        Just("$ref".to_owned()),
        Just("é".to_owned()),
        Just("😀".to_owned()),
        Just("\"x\\u00e9\"".to_owned()),
        "[a-zA-Z]{1,5}",
        "\\PC{0,3}",
        any::<char>().prop_map(String::from),
    ];
    let sep = prop_oneof![Just(""), Just(" "), Just("  "), Just("\t")];
    prop::collection::vec((piece, sep), 0..24)
        .prop_map(|parts| parts.into_iter().map(|(p, s)| p + s).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn printed_filters_parse_back(f in filter()) {
        let printed = f.to_string();
        let parsed = Filter::parse_with(&printed, &Limits::DEFAULT.with_max_filter_len(1 << 20));
        prop_assert_eq!(parsed.as_ref().ok(), Some(&f), "printed: {}, got {:?}", printed, parsed);
    }

    #[test]
    fn printed_paths_parse_back(p in attr_path(), f in proptest::option::of(inner_filter())) {
        let p = match f {
            Some(f) if p.sub_attribute().is_none() => p.with_filter(f),
            Some(f) => AttributePath::new(p.name().to_owned())
                .with_filter(f)
                .with_sub_attribute(p.sub_attribute().unwrap_or_default().to_owned()),
            None => p,
        };
        let printed = p.to_string();
        let parsed = AttributePath::parse_with(&printed, &Limits::DEFAULT.with_max_filter_len(1 << 20));
        prop_assert_eq!(parsed.as_ref().ok(), Some(&p), "printed: {}", printed);
    }

    #[test]
    fn random_input_never_panics(s in filterish()) {
        // Either outcome is fine; a success must print to a form that parses back.
        if let Ok(f) = Filter::parse(&s) {
            prop_assert_eq!(Filter::parse(&f.to_string()).ok(), Some(f));
        }
        if let Ok(p) = AttributePath::parse(&s) {
            prop_assert_eq!(AttributePath::parse(&p.to_string()).ok(), Some(p));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(s in any::<String>()) {
        let _ = Filter::parse(&s);
        let _ = AttributePath::parse(&s);
    }

    #[test]
    fn nesting_just_over_the_limit_errors(
        max in 1usize..80,
        kinds in prop::collection::vec(0u8..3, 81),
        over in 0usize..2,
    ) {
        // `max + over` levels of `(`, `not (` or `x[`-free nesting, around one comparison.
        let levels = max + over;
        let mut open = String::new();
        for k in &kinds[..levels] {
            open.push_str(match k { 0 => "(", 1 => "not (", _ => "not(" });
        }
        let input = format!("{open}a eq 1{}", ")".repeat(levels));
        let limits = Limits::DEFAULT.with_max_depth(max);
        let result = Filter::parse_with(&input, &limits);
        if over == 0 {
            prop_assert!(result.is_ok(), "{}: {:?}", input, result);
        } else {
            let is_too_deep = matches!(result, Err(Error::TooDeep { .. }));
            prop_assert!(is_too_deep, "{}: {:?}", input, result);
        }
    }
}
