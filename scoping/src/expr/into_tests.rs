//! [`evaluate_into`] against its definition, [`super::super::eval::evaluate`].

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scim_model::Resource;
use serde_json::json;

use super::evaluate_into;
use crate::expr::{EvalContext, ExprValue, Expression};

/// Arguments: string constants (ASCII, not, Turkic capitals, digits), numbers, names, and
/// attributes holding every kind of value.
const LEAVES: &[&str] = &[
    "\"abc\"",
    "\"\"",
    "\"ABC\"",
    "\"a-b-a\"",
    "\"Zoë\"",
    "\"İI\"",
    "\"IRIS iris\"",
    "\"42\"",
    "\"True\"",
    "2",
    "-1",
    "0",
    "True",
    "[s]",
    "[empty]",
    "[n]",
    "[b]",
    "[multi]",
    "[one]",
    "[missing]",
    "[name.givenName]",
    "[emails.value]",
    "[emails[type eq \"work\"].value]",
    "[obj]",
    "[TR]",
    "[nul]",
];

/// Expression text from the functions written into a buffer and others around them.
fn arb_text() -> impl Strategy<Value = String> {
    let leaf = proptest::sample::select(LEAVES).prop_map(str::to_owned);
    leaf.prop_recursive(3, 24, 6, |inner| {
        let parts = proptest::collection::vec(inner.clone(), 1..6);
        prop_oneof![
            (inner.clone(), parts).prop_map(|(sep, p)| format!("Join({sep}, {})", p.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("Append({a}, {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, n)| format!("Left({a}, {n})")),
            (inner.clone(), 0..6usize).prop_map(|(a, c)| match c {
                0 => format!("ToLower({a})"),
                1 => format!("ToUpper({a})"),
                2 => format!("ToLower({a}, \"tr-TR\")"),
                3 => format!("ToUpper({a}, [TR])"),
                4 => format!("ToLower({a}, \"\")"),
                _ => format!("ToUpper({a}, [multi])"),
            }),
            (inner.clone(), inner.clone(), inner.clone(), 0..5usize).prop_map(|(a, b, c, m)| {
                match m {
                    0 => format!("Replace({a}, {b}, , , {c}, , )"),
                    1 => format!("Replace({a}, \"a\", , , {c}, , )"),
                    2 => format!("Replace({a}, {b}, , , , , {c})"),
                    3 => format!("Replace({a}, , \"(?<g>[a-z]+)\", \"g\", {c}, , )"),
                    _ => format!("Replace({a}, \"\", , , {c}, , )"),
                }
            }),
            (inner.clone(), inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, d, k, v)| format!("Switch({a}, {d}, {k}, {v}, \"abc\", \"hit\")")),
            (inner.clone(), inner.clone(), inner.clone(), 0..4usize).prop_map(|(a, b, c, k)| {
                match k {
                    0 => format!("IIF({a} = {b}, {c}, {a})"),
                    1 => format!("IIF(IsPresent({a}), {b}, {c})"),
                    2 => format!("IIF({a}, {b}, {c})"),
                    _ => format!("IIF({a} > {b}, {c}, )"),
                }
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} & {b}")),
            (inner.clone(), 0..7usize).prop_map(|(a, f)| match f {
                0 => format!("IgnoreFlowIfNullOrEmpty({a})"),
                1 => format!("Redact({a})"),
                2 => format!("Trim({a})"),
                3 => format!("Split({a}, \"-\")"),
                4 => format!("Item({a}, 1)"),
                5 => format!("CRef({a})"),
                _ => format!("Coalesce({a}, \"c\")"),
            }),
            (inner.clone(), inner).prop_map(|(a, b)| format!("SelectUniqueValue({a}, {b})")),
        ]
    })
}

fn sources() -> Vec<Resource> {
    let one = |v| Resource::from_value(v).unwrap_or_default();
    vec![
        one(json!({
            "s": "abc", "empty": "", "n": 42, "b": true, "multi": ["x-a", "Y"], "one": ["a-b"],
            "name": {"givenName": "Zoë"}, "TR": "tr-TR", "obj": {"k": "v"}, "nul": null,
            "emails": [{"type": "work", "value": "w@x"}, {"type": "home", "value": "h@x"}]
        })),
        one(json!({
            "s": "ABC-abc", "empty": "", "n": -7, "b": false, "multi": [], "one": [""],
            "name": {"givenName": "İsmail"}, "TR": "az", "obj": {},
            "emails": [{"type": "work", "value": "Work@X"}]
        })),
        one(json!({})),
    ]
}

/// For generated expressions over the functions written into a buffer (nested in each
/// other and in others, with every kind of argument) and sources of every kind of value,
/// `evaluate_into` gives what `evaluate` gives — the same value (a string through the
/// buffer, whatever it held before) or the same error. Most results go through the buffer.
#[test]
fn into_agrees_with_evaluate() {
    let sources = sources();
    let ctx = EvalContext::new(chrono::DateTime::UNIX_EPOCH);
    let mut runner = TestRunner::new(Config {
        cases: Config::default().cases.max(3_000),
        ..Config::default()
    });
    let (written, other, failed, unparsed) =
        (Cell::new(0), Cell::new(0), Cell::new(0), Cell::new(0));
    let result = runner.run(&(arb_text(), "|x|[a-z]{20}"), |(text, prior)| {
        let Ok(expr) = Expression::parse(&text) else {
            unparsed.set(unparsed.get() + 1);
            return Ok(());
        };
        for source in &sources {
            let plain = expr.evaluate(source, &ctx);
            let mut buf = prior.clone();
            let into = evaluate_into(&expr, source, &ctx, &mut buf);
            match &into {
                Ok(None) => written.set(written.get() + 1),
                Ok(Some(_)) => other.set(other.get() + 1),
                Err(_) => failed.set(failed.get() + 1),
            }
            let into = into.map(|v| v.unwrap_or_else(|| ExprValue::String(buf.clone())));
            prop_assert_eq!(
                format!("{:?}", into.map_err(|e| e.to_string())),
                format!("{:?}", plain.map_err(|e| e.to_string())),
                "{}",
                text
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (written, other, failed, unparsed) =
        (written.get(), other.get(), failed.get(), unparsed.get());
    assert!(
        written > other && other > 100 && failed > 100 && unparsed * 20 < written,
        "{written} written, {other} other values, {failed} failed, {unparsed} not parsed"
    );
}

/// The benchmark's expressions are written into the buffer, and give `evaluate`'s strings.
#[test]
fn benchmark_expressions_are_written_into_the_buffer() {
    let source = Resource::from_value(json!({
        "userName": "ann.lee7@contoso.example", "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"division": "EMEA"}
    }))
    .unwrap_or_default();
    let ctx = EvalContext::new(chrono::DateTime::UNIX_EPOCH);
    for (text, want) in [
        (
            r#"Join(" ", [name.givenName], [name.familyName])"#,
            "Ann Lee",
        ),
        (r#"ToLower(Left([name.givenName], 3))"#, "ann"),
        (
            r#"Switch([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division], "en-US", "EMEA", "en-GB")"#,
            "en-GB",
        ),
        (
            r#"IIF([active] = "True", "Contoso", "Contoso (former)")"#,
            "Contoso",
        ),
        (
            r#"Append("https://people.contoso.example/", Replace([userName], "@contoso.example", , , "", , ))"#,
            "https://people.contoso.example/ann.lee7",
        ),
    ] {
        let expr = Expression::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let mut buf = String::from("previous value, longer than the next");
        assert_eq!(
            format!("{:?}", evaluate_into(&expr, &source, &ctx, &mut buf)),
            "Ok(None)",
            "{text}"
        );
        assert_eq!(buf, want);
        assert_eq!(
            expr.evaluate(&source, &ctx).ok(),
            Some(ExprValue::from(want))
        );
    }
}
