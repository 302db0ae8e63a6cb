//! Behaviour of the expression language: every example of the reference (E1–E69), the
//! functions' documented semantics, errors, limits, and parser properties.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use scim_model::Resource;
use scoping::Error;
use scoping::expr::{
    AttributeRef, CompareOp, EvalContext, ExprValue, Expression, Node, RandomSource,
    UniquenessCheck,
};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2021, 7, 2, 15, 33, 38).unwrap()
}

fn user(attrs: Value) -> Resource {
    let mut obj = attrs.as_object().unwrap().clone();
    obj.insert(
        "schemas".into(),
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"]),
    );
    Resource::from_object(obj).unwrap()
}

fn eval_with(expr: &str, attrs: Value, ctx: &EvalContext<'_>) -> ExprValue {
    let e = Expression::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    e.evaluate(&user(attrs), ctx)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn eval(expr: &str, attrs: Value) -> ExprValue {
    eval_with(expr, attrs, &EvalContext::new(now()))
}

fn s(v: &str) -> ExprValue {
    ExprValue::from(v)
}

fn eval_err(expr: &str, attrs: Value) -> Error {
    let e = Expression::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    e.evaluate(&user(attrs), &EvalContext::new(now()))
        .unwrap_err()
}

fn parse_err(expr: &str) -> String {
    Expression::parse(expr).unwrap_err().to_string()
}

/// A deterministic generator for tests (xorshift; not secure).
#[derive(Debug)]
struct Seeded(Mutex<u64>);

impl RandomSource for Seeded {
    fn fill_bytes(&self, dest: &mut [u8]) -> std::io::Result<()> {
        let mut x = self.0.lock().unwrap();
        for b in dest {
            *x ^= *x << 13;
            *x ^= *x >> 7;
            *x ^= *x << 17;
            *b = (*x >> 24) as u8;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Taken(Vec<&'static str>);

impl UniquenessCheck for Taken {
    fn is_unique(&self, value: &str) -> Result<bool, String> {
        Ok(!self.0.iter().any(|t| t.eq_ignore_ascii_case(value)))
    }
}

// ----- The reference's examples -----

#[test]
fn e1_append() {
    assert_eq!(
        eval(
            r#"Append([userPrincipalName], ".test")"#,
            json!({"userPrincipalName": "John.Doe@contoso.com"})
        ),
        s("John.Doe@contoso.com.test")
    );
}

#[test]
fn e3_e5_cdate_renders_utc() {
    assert_eq!(
        eval(
            "CDate([StatusHireDate])",
            json!({"StatusHireDate": "2020-03-16-07:00"})
        ),
        s("3/16/2020 7:00:00 AM")
    );
    assert_eq!(
        eval(r#"CDate("2009-06-15T01:45:30-07:00")"#, json!({})),
        s("6/15/2009 8:45:30 AM")
    );
}

#[test]
fn e7_e57_base64_round_trip() {
    assert_eq!(
        eval(r#"ConvertToBase64("Hello world!")"#, json!({})),
        s("SABlAGwAbABvACAAdwBvAHIAbABkACEA")
    );
    assert_eq!(
        eval(
            r#"ConvertFromBase64("SABlAGwAbABvACAAdwBvAHIAbABkACEA")"#,
            json!({})
        ),
        s("Hello world!")
    );
    assert_eq!(
        eval(r#"ConvertFromBase64("SGVsbG8=", "UTF8")"#, json!({})),
        s("Hello")
    );
    assert_eq!(
        eval(r#"ConvertFromBase64("SGVsbG8=", "ASCII")"#, json!({})),
        s("Hello")
    );
    let err = eval_err(r#"ConvertFromBase64("%%%")"#, json!({})).to_string();
    assert!(
        err.starts_with("ConvertFromBase64: argument 1 (source) must be base64 text"),
        "{err}"
    );
    let err = eval_err(r#"ConvertFromBase64("SGVsbG8=", "EBCDIC")"#, json!({})).to_string();
    assert!(
        err.starts_with("ConvertFromBase64: argument 2 (encoding)"),
        "{err}"
    );
}

#[test]
fn e9_e11_e13_date_add() {
    let hire = json!({"StatusHireDate": "2012-03-16-07:00"});
    assert_eq!(
        eval(r#"DateAdd("d", 7, CDate([StatusHireDate]))"#, hire.clone()),
        s("3/23/2012 7:00:00 AM")
    );
    assert_eq!(
        eval(r#"DateAdd("ww", 2, CDate([StatusHireDate]))"#, hire.clone()),
        s("3/30/2012 7:00:00 AM")
    );
    assert_eq!(
        eval(
            r#"DateAdd("yyyy", 2, CDate([StatusHireDate]))"#,
            hire.clone()
        ),
        s("3/16/2014 7:00:00 AM")
    );
    assert_eq!(
        eval(r#"DateAdd("m", -1, [StatusHireDate])"#, hire.clone()),
        s("2/16/2012 7:00:00 AM")
    );
    assert_eq!(
        eval(r#"DateAdd("h", 13, [StatusHireDate])"#, hire),
        s("3/16/2012 8:00:00 PM")
    );
}

#[test]
fn e15_e17_e19_e21_date_diff() {
    let a = json!({"d1": "8/25/2021 5:41:18 PM", "d2": "2012-03-16-07:00"});
    assert_eq!(
        eval(r#"DateDiff("d", [d1], [d2])"#, a.clone()),
        ExprValue::Number(-3449)
    );
    assert_eq!(
        eval(r#"DateDiff("m", [d1], [d2])"#, a),
        ExprValue::Number(-113)
    );
    let b = json!({"d1": "2021-08-31+08:00", "d2": "2021-08-31+08:00"});
    assert_eq!(
        eval(r#"DateDiff("d", [d1], [d2])"#, b),
        ExprValue::Number(0)
    );
    assert_eq!(
        eval(r#"DateDiff("n", "2021-08-24", "2021-08-25")"#, json!({})),
        ExprValue::Number(1440)
    );
}

#[test]
fn e23_date_from_num_and_back() {
    assert_eq!(
        eval("DateFromNum(129699324000000000)", json!({})),
        s("1/1/2012 11:00:00 PM")
    );
    assert_eq!(
        eval(r#"NumFromDate("2012-01-01T23:00:00Z")"#, json!({})),
        ExprValue::Number(129_699_324_000_000_000)
    );
}

#[test]
fn e25_instr() {
    assert_eq!(
        eval(r#"InStr("The quick brown fox","quick")"#, json!({})),
        ExprValue::Number(5)
    );
    assert_eq!(
        eval(r#"InStr("The quick brown fox","QUICK")"#, json!({})),
        ExprValue::Number(0)
    );
    assert_eq!(
        eval(
            r#"InStr("The quick brown fox","QUICK", , vbTextCompare)"#,
            json!({})
        ),
        ExprValue::Number(5)
    );
    assert_eq!(
        eval(r#"InStr("abcabc","b", 3, vbBinaryCompare)"#, json!({})),
        ExprValue::Number(5)
    );
}

#[test]
fn e27_left() {
    assert_eq!(eval(r#"Left("John Doe", 3)"#, json!({})), s("Joh"));
    assert_eq!(eval(r#"Left("John Doe", 0)"#, json!({})), s(""));
    assert_eq!(eval(r#"Left("John Doe", -1)"#, json!({})), s("John Doe"));
    assert_eq!(eval(r#"Left("John", 30)"#, json!({})), s("John"));
    assert_eq!(eval("Left([missing], 3)", json!({})), s(""));
}

#[test]
fn e29_normalize_diacritics() {
    assert_eq!(
        eval(
            "NormalizeDiacritics([givenName])",
            json!({"givenName": "Zoë"})
        ),
        s("Zoe")
    );
    assert_eq!(
        eval(
            r#"NormalizeDiacritics("Æsa Øre Strauß Łukasz Ärger")"#,
            json!({})
        ),
        s("AEsa OEre Strauss Lukasz Arger")
    );
}

#[test]
fn e31_pcase() {
    assert_eq!(
        eval(
            r#"PCase([lastName]," '-")"#,
            json!({"lastName": "PINTO-DE'SILVA"})
        ),
        s("Pinto-De'Silva")
    );
    assert_eq!(
        eval(r#"PCase("john o'neil-smith")"#, json!({})),
        s("John O'neil-Smith")
    );
}

#[test]
fn e33_e41_replace_old_value() {
    assert_eq!(
        eval(
            r#"Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )"#,
            json!({"BusinessTitle": "Product Developer"})
        ),
        s("Software Engineer")
    );
    assert_eq!(
        eval(
            r#"Replace([mail], "@contoso.com", , ,"", ,)"#,
            json!({"mail": "john.doe@contoso.com"})
        ),
        s("john.doe")
    );
}

#[test]
fn e35_replace_regex_with_group_reference() {
    assert_eq!(
        eval(
            r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )"#,
            json!({"telephoneNumber": "+91 9998887777"})
        ),
        s("9998887777")
    );
}

#[test]
fn e37_replace_named_group() {
    assert_eq!(
        eval(
            r#"Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )"#,
            json!({"AddressLineData": "545 Tremont Street"})
        ),
        s("888 Tremont Street")
    );
}

#[test]
fn e39_replace_mode5_follows_app_provisioning_doc() {
    let expr = r#"Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )"#;
    assert_eq!(
        eval(
            expr,
            json!({"telephoneNumber": "", "mobile": "+91 8887779999"})
        ),
        s("8887779999")
    );
    // The source has a value: it flows unchanged.
    assert_eq!(
        eval(
            expr,
            json!({"telephoneNumber": "+1 5551234567", "mobile": "+91 8887779999"})
        ),
        s("+1 5551234567")
    );
}

#[test]
fn replace_mode2_template() {
    assert_eq!(
        eval(
            r#"Replace([alias], "{alias}", , , , , "{alias}@contoso.com")"#,
            json!({"alias": "jdoe"})
        ),
        s("jdoe@contoso.com")
    );
}

#[test]
fn replace_is_case_sensitive() {
    assert_eq!(
        eval(r#"Replace("ABCabc", "abc", , , "x", , )"#, json!({})),
        s("ABCx")
    );
}

#[test]
fn e43_select_unique_value() {
    let expr = r#"SelectUniqueValue(Join("@", Join(".", [givenName], [sn]), "contoso.com"), Join("@", Join(".", Mid([givenName], 1, 1), [sn]), "contoso.com"))"#;
    let taken = Taken(vec!["John.Smith@contoso.com"]);
    let ctx = EvalContext::new(now()).with_uniqueness(&taken);
    let attrs = json!({"givenName": "John", "sn": "Smith"});
    assert_eq!(
        eval_with(expr, attrs.clone(), &ctx),
        s("J.Smith@contoso.com")
    );
    let all = Taken(vec!["John.Smith@contoso.com", "J.Smith@contoso.com"]);
    let ctx = EvalContext::new(now()).with_uniqueness(&all);
    let err = Expression::parse(expr)
        .unwrap()
        .evaluate(&user(attrs.clone()), &ctx)
        .unwrap_err();
    assert!(
        matches!(err, Error::ExpressionNoUniqueValue { ref tried } if tried.len() == 2),
        "{err}"
    );
    // Without a check every value is unique.
    assert_eq!(eval(expr, attrs), s("John.Smith@contoso.com"));
    // Only at the top.
    let nested = eval_err(r#"Append(SelectUniqueValue("a", "b"), "x")"#, json!({}));
    assert!(
        nested.to_string().contains("only allowed at the top"),
        "{nested}"
    );
}

#[test]
fn e45_split_keeps_spaces_and_trim_trims_each() {
    let a = json!({"extensionAttribute5": "PermissionSetOne, PermissionSetTwo"});
    assert_eq!(
        eval(r#"Split([extensionAttribute5], ",")"#, a.clone()),
        ExprValue::Multi(vec![s("PermissionSetOne"), s(" PermissionSetTwo")])
    );
    assert_eq!(
        eval(r#"Trim(Split([extensionAttribute5], ","))"#, a),
        ExprValue::Multi(vec![s("PermissionSetOne"), s("PermissionSetTwo")])
    );
}

#[test]
fn e47_switch_empty_key() {
    let expr = r#"Switch([statusFlag], "Default Value", "true", "1", "", "0")"#;
    assert_eq!(eval(expr, json!({"statusFlag": ""})), s("0"));
    assert_eq!(
        eval(expr, json!({})),
        s("0"),
        "a null source matches the key \"\""
    );
    assert_eq!(eval(expr, json!({"statusFlag": "true"})), s("1"));
    assert_eq!(
        eval(expr, json!({"statusFlag": "TRUE"})),
        s("Default Value"),
        "keys are case-sensitive"
    );
    // Entra's idiom for a default.
    assert_eq!(
        eval(
            r#"Switch(IsPresent([jobTitle]), "DefaultValue", "True", [jobTitle])"#,
            json!({})
        ),
        s("DefaultValue")
    );
    assert_eq!(
        eval(
            r#"Switch(IsPresent([jobTitle]), "DefaultValue", "True", [jobTitle])"#,
            json!({"jobTitle": "Dev"})
        ),
        s("Dev")
    );
    assert_eq!(
        eval(
            r#"Switch([country],[country],"","Other")"#,
            json!({"country": "NL"})
        ),
        s("NL")
    );
}

#[test]
fn e49_ignore_flow() {
    let expr = r#"IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof.", "3445", "Prof. Dr."))"#;
    let v = eval(expr, json!({"prefix": "9999"}));
    assert_eq!(v, ExprValue::IgnoreFlow);
    assert!(v.is_ignore_flow());
    assert_eq!(eval(expr, json!({"prefix": "3443"})), s("Dr."));
    // Nested, it reads as null.
    assert_eq!(
        eval(r#"Coalesce(IgnoreFlowIfNullOrEmpty([x]), "d")"#, json!({})),
        s("d")
    );
}

#[test]
fn e51_word() {
    assert_eq!(
        eval(r#"Word("The quick brown fox",3," ")"#, json!({})),
        s("brown")
    );
    assert_eq!(
        eval(r#"Word("The quick brown fox",0," ")"#, json!({})),
        s("")
    );
    assert_eq!(
        eval(r#"Word("The quick brown fox",9," ")"#, json!({})),
        s("")
    );
    assert_eq!(eval(r#"Word("a,b;c",3,",;")"#, json!({})), s("c"));
    assert_eq!(eval(r#"Word([missing],1," ")"#, json!({})), s(""));
}

#[test]
fn e53_mid() {
    assert_eq!(
        eval(
            "Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))",
            json!({"givenName": "John", "surname": "Doe"})
        ),
        s("JohDoe")
    );
}

#[test]
fn e55_utf8_hex_join_behaviour_chosen() {
    // The doc's printed output is inconsistent with its own ConvertToUTF8Hex; idflow computes
    // the UTF-8 hex (upper case), removes letters and underscores, and joins.
    let v = eval(
        r#"Join("", 1000, Replace(ConvertToUTF8Hex([objectId]), , "[a-zA-Z_]*", , "", , ))"#,
        json!({"objectId": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}),
    );
    assert_eq!(
        eval(r#"ConvertToUTF8Hex("Hello world!")"#, json!({})),
        s("48656C6C6F20776F726C6421")
    );
    let hex: String = "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
        .bytes()
        .map(|b| format!("{b:02X}"))
        .collect();
    let digits: String = hex.chars().filter(|c| c.is_ascii_digit()).collect();
    assert_eq!(v, ExprValue::String(format!("1000{digits}")));
}

#[test]
fn e59_dn_component() {
    assert_eq!(
        eval(
            "DNComponent(CRef([dn]),1)",
            json!({"dn": "cn=Joe,ou=Sales,dc=contoso,dc=com"})
        ),
        s("Joe")
    );
    assert_eq!(
        eval(
            "DNComponent([dn],2)",
            json!({"dn": "cn=Doe\\, Joe,ou=Sales,dc=contoso,dc=com"})
        ),
        s("Sales")
    );
}

#[test]
fn e61_iif_or_idiom() {
    let expr = r#"IIF([country]="USA","True",IIF([state]="CA","True","False"))"#;
    assert_eq!(
        eval(expr, json!({"country": "UK", "state": "CA"})),
        s("True")
    );
    assert_eq!(
        eval(expr, json!({"country": "UK", "state": "NY"})),
        s("False")
    );
    assert_eq!(eval(expr, json!({"country": "USA"})), s("True"));
}

#[test]
fn iif_with_empty_or_absent_condition_attribute_works() {
    assert_eq!(
        eval(r#"IIF([country]="","none",[country])"#, json!({})),
        s("none")
    );
    assert_eq!(
        eval(
            r#"IIF([country]="","none",[country])"#,
            json!({"country": ""})
        ),
        s("none")
    );
    assert_eq!(
        eval(
            r#"IIF([country]="","none",[country])"#,
            json!({"country": "NL"})
        ),
        s("NL")
    );
    assert_eq!(
        eval(r#"IIF(IsPresent([x]),"yes","no")"#, json!({})),
        s("no")
    );
    assert_eq!(
        eval(r#"IIF(IsNullOrEmpty([x]),"yes","no")"#, json!({"x": ""})),
        s("yes")
    );
    // Only the chosen branch is evaluated.
    assert_eq!(
        eval(r#"IIF(True, "ok", Error("never"))"#, json!({})),
        s("ok")
    );
    assert_eq!(
        eval(r#"IIF([n] >= 10, "big", "small")"#, json!({"n": 9})),
        s("small")
    );
    assert_eq!(
        eval(r#"IIF([n] > 9, "big", "small")"#, json!({"n": "10"})),
        s("big"),
        "numeric compare"
    );
    assert_eq!(
        eval(
            r#"IIF([a] <> [b], "diff", "same")"#,
            json!({"a": "x", "b": "X"})
        ),
        s("diff")
    );
    assert_eq!(eval(r#"IIF("b" < "c", "lt", "ge")"#, json!({})), s("lt"));
    assert_eq!(eval(r#"IIF(3 <= 3, "le", "gt")"#, json!({})), s("le"));
}

#[test]
fn cloud_sync_concat_operator() {
    assert_eq!(
        eval(
            r#"IIF([isIntern]="True","t-" & [alias],[alias])"#,
            json!({"isIntern": "True", "alias": "jdoe"})
        ),
        s("t-jdoe")
    );
    assert_eq!(
        eval(
            r#"IIF([isIntern]="True","t-" & [alias],[alias])"#,
            json!({"isIntern": "False", "alias": "jdoe"})
        ),
        s("jdoe")
    );
}

#[test]
fn e63_random_string_property() {
    let rng = Seeded(Mutex::new(0x9E37_79B9_7F4A_7C15));
    let ctx = EvalContext::new(now()).with_random(&rng);
    for _ in 0..50 {
        let ExprValue::String(v) = eval_with("RandomString(6,3,0,0,3)", json!({}), &ctx) else {
            panic!()
        };
        assert_eq!(v.chars().count(), 6);
        assert!(v.chars().filter(char::is_ascii_digit).count() >= 3, "{v}");
        assert!(
            v.chars().filter(char::is_ascii_lowercase).count() >= 3,
            "{v}"
        );
    }
    let ExprValue::String(v) = eval(r#"RandomString(20,2,2,2,2,"0O1lI")"#, json!({})) else {
        panic!()
    };
    assert_eq!(v.chars().count(), 20);
    assert!(!v.contains(['0', 'O', '1', 'l', 'I']), "{v}");
    assert!(
        eval_err("RandomString(300,0,0,0,0)", json!({}))
            .to_string()
            .contains("Length")
    );
    assert!(
        eval_err("RandomString(3,2,2,0,0)", json!({}))
            .to_string()
            .contains("more than")
    );
}

#[test]
fn e65_now_and_guid() {
    assert_eq!(eval("Now()", json!({})), s("7/2/2021 3:33:38 PM"));
    let ExprValue::String(g) = eval("Guid()", json!({})) else {
        panic!()
    };
    let parts: Vec<&str> = g.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12],
        "{g}"
    );
    assert!(g.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    assert_eq!(&parts[2][..1], "4");
    assert_ne!(eval("Guid()", json!({})), eval("Guid()", json!({})));
    // A seeded generator is deterministic.
    let a = Seeded(Mutex::new(7));
    let b = Seeded(Mutex::new(7));
    assert_eq!(
        eval_with(
            "Guid()",
            json!({}),
            &EvalContext::new(now()).with_random(&a)
        ),
        eval_with(
            "Guid()",
            json!({}),
            &EvalContext::new(now()).with_random(&b)
        )
    );
}

#[test]
fn e67_cbool_of_comparison() {
    assert_eq!(
        eval("CBool([a] = [b])", json!({"a": "x", "b": "x"})),
        ExprValue::Bool(true)
    );
    assert_eq!(
        eval("CBool([a] = [b])", json!({"a": "x", "b": "y"})),
        ExprValue::Bool(false)
    );
    assert_eq!(eval("CBool(0)", json!({})), ExprValue::Bool(false));
    assert_eq!(eval(r#"CStr(CBool("5"))"#, json!({})), s("True"));
}

#[test]
fn e69_num_from_date_of_formatted_date() {
    let v = eval(
        r#"NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))"#,
        json!({"ContractEndDate": "2020-12-31-08:00"}),
    );
    // 2021-01-01T07:59:59Z as AD FILETIME.
    assert_eq!(
        v,
        ExprValue::Number((1_609_487_999 + 11_644_473_600) * 10_000_000)
    );
}

// ----- Other functions -----

#[test]
fn format_date_time() {
    assert_eq!(
        eval(
            r#"FormatDateTime("20150123105347.1Z", "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")"#,
            json!({})
        ),
        s("2015-01-23")
    );
    assert_eq!(
        eval(
            r#"FormatDateTime("2021-08-31T13:05:09+02:00", , "yyyy-MM-ddTHH:mm:sszzz", "M/d/yy h:mm tt 'at' zzz")"#,
            json!({})
        ),
        s("8/31/21 1:05 PM at +02:00")
    );
    assert_eq!(
        eval(
            r#"FormatDateTime("12/25/2020", "MM/dd/yyyy", "dddd, MMMM d")"#,
            json!({})
        ),
        s("Friday, December 25")
    );
    assert_eq!(
        eval(
            r#"FormatDateTime("2020-01-02 03:04:05.678", "yyyy-MM-dd HH:mm:ss.fff", "HH|H|hh|h|mm|ss|fff|K")"#,
            json!({})
        ),
        s("03|3|03|3|04|05|678|+00:00")
    );
    assert!(
        eval_err(r#"FormatDateTime("nope", "yyyy", "yyyy")"#, json!({}))
            .to_string()
            .contains("input format")
    );
}

#[test]
fn item_is_one_based() {
    let a = json!({"proxyAddresses": ["SMTP:a@x", "smtp:b@x"]});
    assert_eq!(eval("Item([proxyAddresses], 1)", a.clone()), s("SMTP:a@x"));
    assert_eq!(eval("Item([proxyAddresses], 2)", a.clone()), s("smtp:b@x"));
    let err = eval_err("Item([proxyAddresses], 0)", a.clone()).to_string();
    assert!(err.contains("Item: argument 2 (index)"), "{err}");
    assert!(
        eval_err("Item([proxyAddresses], 3)", a)
            .to_string()
            .contains("out of range")
    );
}

#[test]
fn join_count_remove_duplicates_coalesce() {
    let a = json!({"m": ["a", "", "b", "a"], "e": ""});
    assert_eq!(
        eval(r#"Join(",", [m], [missing], [e], "c")"#, a.clone()),
        s("a,b,a,c")
    );
    assert_eq!(eval("Count([m])", a.clone()), ExprValue::Number(4));
    assert_eq!(eval("Count([missing])", a.clone()), ExprValue::Number(0));
    assert_eq!(
        eval("RemoveDuplicates([m])", a.clone()),
        ExprValue::Multi(vec![s("a"), s(""), s("b")])
    );
    assert_eq!(eval(r#"Coalesce([missing], [e], "d")"#, a.clone()), s("d"));
    assert_eq!(eval("Coalesce([missing], [e])", a), ExprValue::Null);
}

#[test]
fn null_checks_and_not() {
    let a = json!({"e": "", "v": "x"});
    assert_eq!(eval("IsNull([missing])", a.clone()), ExprValue::Bool(true));
    assert_eq!(eval("IsNull([e])", a.clone()), ExprValue::Bool(false));
    assert_eq!(eval("IsNullOrEmpty([e])", a.clone()), ExprValue::Bool(true));
    assert_eq!(eval("IsPresent([v])", a.clone()), ExprValue::Bool(true));
    assert_eq!(eval("IsString([v])", a.clone()), ExprValue::Bool(true));
    assert_eq!(
        eval("IsString([missing])", a.clone()),
        ExprValue::Bool(false)
    );
    assert_eq!(eval(r#"Not("True")"#, a.clone()), ExprValue::Bool(false));
    assert_eq!(eval(r#"Not("anything")"#, a.clone()), ExprValue::Bool(true));
    assert_eq!(eval("Not(IsPresent([v]))", a), ExprValue::Bool(false));
}

#[test]
fn bit_and_hex() {
    assert_eq!(
        eval(
            "BitAnd(&HF, [userAccountControl])",
            json!({"userAccountControl": 514})
        ),
        ExprValue::Number(2)
    );
    assert_eq!(eval("BitAnd(6, 3)", json!({})), ExprValue::Number(2));
}

#[test]
fn case_and_spaces() {
    assert_eq!(eval(r#"ToLower("ÀBC", "en-US")"#, json!({})), s("àbc"));
    assert_eq!(
        eval(r#"ToUpper([x])"#, json!({"x": ["a", "b"]})),
        ExprValue::Multi(vec![s("A"), s("B")])
    );
    assert_eq!(
        eval(r#"ToUpper("istanbul", "tr-TR")"#, json!({})),
        s("İSTANBUL")
    );
    assert_eq!(
        eval(r#"ToLower("ISPARTA İ", "tr-TR")"#, json!({})),
        s("ısparta i")
    );
    assert_eq!(eval(r#"ToUpper("istanbul")"#, json!({})), s("ISTANBUL"));
    assert_eq!(eval(r#"StripSpaces(" a b  c ")"#, json!({})), s("abc"));
    assert_eq!(eval(r#"Trim("  a b  ")"#, json!({})), s("a b"));
    assert_eq!(eval("Trim([missing])", json!({})), ExprValue::Null);
}

#[test]
fn default_domain_redact_and_errors() {
    let ctx = EvalContext::new(now()).with_default_domain("contoso.onmicrosoft.com");
    assert_eq!(
        eval_with(
            r#"Join("@", [alias], DefaultDomain())"#,
            json!({"alias": "j"}),
            &ctx
        ),
        s("j@contoso.onmicrosoft.com")
    );
    let v = eval(r#"Append(Redact([ssn]), "!")"#, json!({"ssn": "123"}));
    assert!(v.is_redacted());
    assert_eq!(v.unredacted(), &s("123!"));
    assert_eq!(v.log_text(), "[Redact]");
    assert_eq!(v.to_json(), json!("123!"));
    let err = eval_err(r#"Error("no manager")"#, json!({}));
    assert!(matches!(err, Error::ExpressionRaised { ref message } if message == "no manager"));
}

#[test]
fn string_from_sid() {
    // S-1-5-21-1-2-3-500
    let mut b = vec![1u8, 5, 0, 0, 0, 0, 0, 5];
    for x in [21u32, 1, 2, 3, 500] {
        b.extend(x.to_le_bytes());
    }
    let b64 = eval(&format!("ConvertToBase64(\"{}\")", "x"), json!({}));
    assert!(matches!(b64, ExprValue::String(_)));
    let encoded = base64(&b);
    assert_eq!(
        eval("StringFromSid([objectSid])", json!({"objectSid": encoded})),
        s("S-1-5-21-1-2-3-500")
    );
    assert!(
        eval_err(r#"StringFromSid("AQ==")"#, json!({}))
            .to_string()
            .contains("StringFromSid: argument 1 (objectSid)")
    );
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            out.push(if i <= c.len() {
                T[((n >> (18 - 6 * i)) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

#[test]
fn app_role_assignments() {
    let a = json!({"appRoleAssignments": [
        {"value": "Admin", "displayName": "Administrator"},
        {"value": "Reader", "displayName": "Reader"}
    ]});
    assert_eq!(
        eval("SingleAppRoleAssignment([appRoleAssignments])", a.clone()),
        s("Admin")
    );
    let v = eval("AppRoleAssignmentsComplex([appRoleAssignments])", a).to_json();
    assert_eq!(
        v,
        json!([
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Administrator", "value": "Admin"},
            {"primary": false, "type": "WindowsAzureActiveDirectoryRole", "display": "Reader", "value": "Reader"}
        ])
    );
    assert_eq!(
        eval("SingleAppRoleAssignment([appRoleAssignments])", json!({})),
        ExprValue::Null
    );
}

#[test]
fn attributes_urn_sub_attribute_and_filter() {
    let mut obj = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "name": {"givenName": "Ann"},
        "emails": [{"type": "home", "value": "a@home"}, {"type": "work", "value": "a@work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m1"}, "department": "R&D"}
    });
    let r = Resource::from_value(obj.take()).unwrap();
    let ctx = EvalContext::new(now());
    let ev = |e: &str| Expression::parse(e).unwrap().evaluate(&r, &ctx).unwrap();
    assert_eq!(ev("[NAME.givenname]"), s("Ann"));
    assert_eq!(
        ev("[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department]"),
        s("R&D")
    );
    assert_eq!(
        ev("[urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value]"),
        s("m1")
    );
    assert_eq!(
        ev(r#"[emails[type eq "work"].value]"#),
        ExprValue::Multi(vec![s("a@work")])
    );
    assert_eq!(
        ev("[emails.value]"),
        ExprValue::Multi(vec![s("a@home"), s("a@work")])
    );
}

// ----- Errors and limits -----

#[test]
fn evaluation_errors_name_function_and_argument() {
    let err = eval_err(r#"Mid("abc", "x", 2)"#, json!({})).to_string();
    assert_eq!(
        err,
        r#"Mid: argument 2 (start) must be a number, found "x""#
    );
    let err = eval_err(r#"Mid("abc", 0, 2)"#, json!({})).to_string();
    assert!(
        err.starts_with("Mid: argument 2 (start) must be at least 1"),
        "{err}"
    );
    let err = eval_err(r#"IIF("maybe", 1, 2)"#, json!({})).to_string();
    assert!(err.starts_with("IIF: argument 1 (condition)"), "{err}");
    let err = eval_err(r#"CDate("not a date")"#, json!({})).to_string();
    assert!(err.starts_with("CDate: argument 1"), "{err}");
    let err = eval_err(r#"DateAdd("x", 1, "2020-01-01")"#, json!({})).to_string();
    assert!(err.starts_with("DateAdd: argument 1 (interval)"), "{err}");
    let err = eval_err(r#"Replace("a", , [p], , "b", , )"#, json!({"p": "("})).to_string();
    assert!(
        err.starts_with("Replace: argument 3 (regexPattern)"),
        "{err}"
    );
}

#[test]
fn parse_errors_have_position_and_expectation() {
    match Expression::parse(r#"Append([a], "x""#).unwrap_err() {
        Error::ExpressionSyntax {
            position, expected, ..
        } => {
            assert_eq!(position, 15);
            assert_eq!(expected, "`,` or `)`");
        }
        e => panic!("{e}"),
    }
    assert!(parse_err(r#"append([a], "x")"#).contains("did you mean `Append`"));
    assert!(parse_err("Mid([a], 1)").contains("Mid with 3 argument(s)"));
    assert!(parse_err(r#"Switch([a], "d", "k")"#).contains("even number"));
    assert!(parse_err(r#"Append([a, "x")"#).contains("expected"));
    assert!(parse_err(r#"Append("unterminated)"#).contains("closing `\"`"));
    assert!(parse_err("Now").contains("`(` after Now"));
    assert!(parse_err("").contains("expected an expression"));
    assert!(parse_err("[a] $").contains("found `$`"));
    match Expression::parse(r#"Replace([a], , "(?<=x)y", , "", , )"#).unwrap_err() {
        Error::ExpressionSyntax {
            position, expected, ..
        } => {
            assert_eq!(position, 15);
            assert!(expected.contains("regexPattern"), "{expected}");
        }
        e => panic!("{e}"),
    }
    assert!(parse_err("Now() Now()").contains("expected end of expression"));
}

#[test]
fn limits_are_errors_not_overflows() {
    let deep = format!("{}[a]{}", "Trim(".repeat(65), ")".repeat(65));
    assert!(parse_err(&deep).contains("at most 64 levels"));
    let ok = format!("{}[a]{}", "Trim(".repeat(64), ")".repeat(64));
    assert_eq!(eval(&ok, json!({"a": " x "})), s("x"));
    // The deepest mix of calls, parentheses, comparisons and concatenations evaluates
    // without exhausting the stack.
    let mixed = format!(
        "{}\"x\"{}",
        r#"IIF(("a" & "#.repeat(32),
        r#") = "", "t", "f")"#.repeat(32)
    );
    assert_eq!(eval(&mixed, json!({})), s("f"));
    let parens = format!("{}[a]{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(parse_err(&parens).contains("10000 characters"));
    let deep_parens = format!("{}[a]{}", "(".repeat(1000), ")".repeat(1000));
    assert!(parse_err(&deep_parens).contains("levels"));
    let long = format!("\"{}\"", "a".repeat(10_001));
    assert!(parse_err(&long).contains("at most 10000 characters"));
}

#[test]
fn escapes_and_printing() {
    let e = Expression::parse(r#"Append("Company name: \"Contoso\" \\ ", [a])"#).unwrap();
    assert_eq!(
        eval(&e.to_string(), json!({"a": "x"})),
        s("Company name: \"Contoso\" \\ x")
    );
    assert_eq!(
        e.to_string(),
        r#"Append("Company name: \"Contoso\" \\ ", [a])"#
    );
    let r = Expression::parse(r#"Replace([x],, "re",,"",,)"#).unwrap();
    assert_eq!(r.to_string(), r#"Replace([x], , "re", , "", , )"#);
    let c = Expression::parse(r#"IIF(("a" & [b]) = (1 = 1), &HF, -3)"#).unwrap();
    assert_eq!(c.to_string(), r#"IIF("a" & [b] = (1 = 1), &HF, -3)"#);
    assert_eq!(Expression::parse(&c.to_string()).unwrap().root(), c.root());
}

#[test]
fn trees_built_in_code_are_checked() {
    let mut deep = Node::Attribute(AttributeRef::new("a"));
    for _ in 0..100 {
        deep = Node::Call {
            name: "Trim".into(),
            args: vec![Some(deep)],
        };
    }
    assert!(
        Expression::from_node(deep)
            .unwrap_err()
            .to_string()
            .contains("levels")
    );
    let unknown = Node::Call {
        name: "Nope".into(),
        args: vec![],
    };
    assert!(Expression::from_node(unknown).is_err());
    assert!(
        Expression::from_node(Node::Number {
            value: i64::MIN,
            hex: true
        })
        .is_err()
    );
    let bad_attr = Node::Attribute(AttributeRef::new("a]b"));
    assert!(Expression::from_node(bad_attr).is_err());
    let one = Node::Call {
        name: "Append".into(),
        args: vec![Some(Node::Str("a".into())), Some(Node::Str("b".into()))],
    };
    let e = Expression::from_node(one).unwrap();
    assert_eq!(e.to_string(), r#"Append("a", "b")"#);
    assert_eq!(eval(&e.to_string(), json!({})), s("ab"));
}

#[test]
fn expressions_serialize_as_text() {
    let e = Expression::parse(r#"Replace([x],, "re",,"",,)"#).unwrap();
    assert_eq!(
        serde_json::to_value(&e).unwrap(),
        json!(r#"Replace([x], , "re", , "", , )"#)
    );
    let back: Expression =
        serde_json::from_value(json!(r#"Replace([x], , "re", , "", , )"#)).unwrap();
    assert_eq!(back, e);
    let err = serde_json::from_value::<Expression>(json!("Append(")).unwrap_err();
    assert!(err.to_string().contains("position"), "{err}");
}

#[test]
fn calls_and_attributes() {
    let e =
        Expression::parse(r#"SelectUniqueValue(Join("@", [givenName], "x"), Append([sn], Now()))"#)
            .unwrap();
    assert!(e.calls("SelectUniqueValue"));
    assert!(e.calls("Now"));
    assert!(!e.calls("Guid"));
    let names: Vec<&str> = e.attributes().iter().map(|a| a.text()).collect();
    assert_eq!(names, vec!["givenName", "sn"]);
}

#[test]
fn filter_values_may_hold_brackets() {
    let e = Expression::parse(r#"Join(",", [emails[value eq "a]b"].type])"#).unwrap();
    let v = e.evaluate(&user(json!({"emails": [{"value": "a]b", "type": "work"}, {"value": "c", "type": "home"}]})), &EvalContext::new(now())).unwrap();
    assert_eq!(v, s("work"));
    assert_eq!(Expression::parse(&e.to_string()).unwrap().root(), e.root());
}

// ----- Properties -----

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in "\\PC{0,80}") {
        let _ = Expression::parse(&text);
    }

    #[test]
    fn expression_like_text_never_panics(text in "[A-Za-z\\[\\]()\",&=<>\\-0-9 \\\\]{0,60}") {
        if let Ok(e) = Expression::parse(&text) {
            let _ = e.evaluate(&user(json!({"a": "x"})), &EvalContext::new(now()));
        }
    }

    #[test]
    fn random_string_meets_its_minimums(
        length in 1usize..40, digits in 0usize..10, special in 0usize..10, capital in 0usize..10, lower in 0usize..10,
        seed in 1u64..u64::MAX,
    ) {
        let rng = Seeded(Mutex::new(seed));
        let ctx = EvalContext::new(now()).with_random(&rng);
        let expr = format!("RandomString({length},{digits},{special},{capital},{lower})");
        let result = Expression::parse(&expr).unwrap().evaluate(&user(json!({})), &ctx);
        if digits + special + capital + lower > length {
            prop_assert!(result.is_err());
        } else {
            let ExprValue::String(v) = result.unwrap() else { panic!("not a string") };
            prop_assert_eq!(v.chars().count(), length);
            prop_assert!(v.chars().filter(char::is_ascii_digit).count() >= digits);
            prop_assert!(v.chars().filter(|c| c.is_ascii_punctuation()).count() >= special);
            prop_assert!(v.chars().filter(char::is_ascii_uppercase).count() >= capital);
            prop_assert!(v.chars().filter(char::is_ascii_lowercase).count() >= lower);
            prop_assert!(special > 0 || !v.chars().any(|c| c.is_ascii_punctuation()));
        }
    }

    #[test]
    fn generated_trees_evaluate_without_panics(node in arb_node()) {
        let e = Expression::from_node(node).unwrap();
        let _ = e.evaluate(&user(json!({"a": "x", "b": ["1", "2"]})), &EvalContext::new(now()));
    }

    #[test]
    fn print_parse_round_trip(node in arb_node()) {
        let printed = node.to_string();
        let parsed = Expression::parse(&printed).unwrap_or_else(|e| panic!("{printed}: {e}"));
        prop_assert_eq!(parsed.root(), &node, "{}", printed);
        prop_assert!(Expression::from_node(node.clone()).is_ok());
    }
}

fn arb_leaf() -> impl Strategy<Value = Node> {
    prop_oneof![
        "\\PC{0,8}".prop_map(Node::Str),
        (-1000i64..1000, any::<bool>()).prop_map(|(value, hex)| Node::Number { value, hex }),
        "[A-Za-z][A-Za-z0-9]{0,6}(\\.[a-z]{1,4})?"
            .prop_map(|t| Node::Attribute(AttributeRef::new(t))),
        prop_oneof![
            Just("vbTextCompare"),
            Just("vbBinaryCompare"),
            Just("True"),
            Just("False")
        ]
        .prop_map(|n| Node::Name(n.to_owned())),
    ]
}

fn arb_node() -> impl Strategy<Value = Node> {
    arb_leaf().prop_recursive(4, 24, 4, |inner| {
        let opt = proptest::option::weighted(0.8, inner.clone());
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Node::Call {
                name: "Append".into(),
                args: vec![Some(a), Some(b)]
            }),
            (inner.clone(), opt.clone(), opt.clone(), opt).prop_map(|(a, b, c, d)| Node::Call {
                name: "Coalesce".into(),
                args: vec![Some(a), b, c, d]
            }),
            Just(Node::Call {
                name: "Now".into(),
                args: vec![]
            }),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Node::Concat),
            (inner.clone(), inner, 0..6usize).prop_map(|(l, r, op)| Node::Compare {
                op: [
                    CompareOp::Eq,
                    CompareOp::Ne,
                    CompareOp::Gt,
                    CompareOp::Ge,
                    CompareOp::Lt,
                    CompareOp::Le
                ][op],
                left: Box::new(l),
                right: Box::new(r),
            }),
        ]
    })
}

/// String constants and string attributes are read in place by some functions (no copy);
/// wrapping an argument in `CRef` makes it an evaluated value instead. Both must give the same
/// result, or the same error, for every argument.
#[test]
fn arguments_read_in_place_agree_with_evaluated_ones() {
    let templates = [
        "Append({0}, {1})",
        "Join({0}, {1}, {2})",
        "Left({0}, 2)",
        "ToLower({0})",
        "ToUpper({0}, {1})",
        "Replace({0}, {1}, , , {2}, , )",
        "Replace({0}, , \"(?<g>[a-z]+)\", \"g\", {1}, , )",
        "Replace({0}, , \"[a-z]\", , {1}, , )",
        "Replace({0}, {1}, , , , , {2})",
        "Replace({0}, , \"(?<g>[a-z]+)\", \"g\", , {1}, )",
        "Switch({0}, \"d\", {1}, \"one\", {2}, \"two\")",
        "IIF({0} = {1}, \"eq\", \"ne\")",
        "IIF({0} > {1}, \"gt\", \"le\")",
        "{0} & {1} & {2}",
        "Join({0}, {1}, {2}, {0}, {1})",
        "Join({0}, {1}, {2}, {0})",
        "Mid({0}, 2, 2)",
        "ToLower(Left({0}, 2), {1})",
    ];
    let args = [
        "\"abc\"",
        "\"\"",
        "\"42\"",
        "\"ABC\"",
        "[s]",
        "[empty]",
        "[n]",
        "[b]",
        "[multi]",
        "[missing]",
        "[name.givenName]",
        "[emails.value]",
        "[emails[type eq \"work\"].value]",
        "[TR]",
        "7",
    ];
    let attrs = json!({
        "s": "abc", "empty": "", "n": 42, "b": true, "multi": ["x", "Y"],
        "name": {"givenName": "Zoë"}, "TR": "tr-TR",
        "emails": [{"type": "work", "value": "w@x"}, {"type": "home", "value": "h@x"}]
    });
    let outcome = |text: &str| {
        let e = Expression::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        e.evaluate(&user(attrs.clone()), &EvalContext::new(now()))
            .map_err(|e| e.to_string())
    };
    for t in templates {
        for (i, a) in args.iter().enumerate() {
            for b in [
                args[(i + 1) % args.len()],
                args[(i + 4) % args.len()],
                "\"abc\"",
            ] {
                let c = args[(i + 7) % args.len()];
                let fill = |x: &str, y: &str, z: &str| {
                    t.replace("{0}", x).replace("{1}", y).replace("{2}", z)
                };
                let direct = fill(a, b, c);
                let wrapped = fill(
                    &format!("CRef({a})"),
                    &format!("CRef({b})"),
                    &format!("CRef({c})"),
                );
                assert_eq!(outcome(&direct), outcome(&wrapped), "{direct}");
            }
        }
    }
}

proptest! {
    /// The fast paths of `Left`, `Mid`, `ToLower`/`ToUpper` (in place on an ASCII value it
    /// owns) and `Join` (parts read first, text allocated once) agree with the plain
    /// definitions of these functions.
    #[test]
    fn text_fast_paths_agree_with_their_definitions(
        text in "\\PC{0,12}|[a-zA-Z .]{0,12}",
        parts in proptest::collection::vec("|[a-zA-Z]{1,4}|\\PC{1,3}", 0..7),
        sep in "|[ ,]{1,2}",
        start in 1usize..15,
        len in 0usize..15,
    ) {
        let mut attrs = serde_json::Map::new();
        attrs.insert("s".into(), json!(text));
        for (i, p) in parts.iter().enumerate() {
            attrs.insert(format!("p{i}"), json!(p));
        }
        let r = user(Value::Object(attrs));
        let ctx = EvalContext::new(now());
        let ev = |e: &str| Expression::parse(e).unwrap().evaluate(&r, &ctx).unwrap();
        let take: String = text.chars().take(len).collect();
        prop_assert_eq!(ev(&format!("Left([s], {len})")), s(&take));
        let mid: String = text.chars().skip(start - 1).take(len).collect();
        prop_assert_eq!(ev(&format!("Mid([s], {start}, {len})")), s(&mid));
        prop_assert_eq!(ev(&format!("ToLower(Left([s], {len}))")), s(&take.to_lowercase()));
        prop_assert_eq!(ev("ToUpper(CRef([s]))"), s(&text.to_uppercase()));
        prop_assert_eq!(ev("ToLower(CRef([s]), \"tr-TR\")"), ev("ToLower([s], \"tr-TR\")"));
        let joined = parts.iter().filter(|p| !p.is_empty()).cloned().collect::<Vec<_>>().join(&sep);
        let args: String = (0..parts.len()).map(|i| format!(", [p{i}]")).collect();
        prop_assert_eq!(ev(&format!("Join({sep:?}{args})")), s(&joined));
        let wrapped: String = (0..parts.len()).map(|i| format!(", CRef([p{i}])")).collect();
        prop_assert_eq!(ev(&format!("Join({sep:?}{wrapped})")), s(&joined));
    }
}

proptest! {
    /// `Replace` with a constant oldValue finds it with a literal regex built once; the
    /// result is `str::replace`'s, whatever characters (regex syntax, `$` in the
    /// replacement, non-ASCII) the texts hold.
    #[test]
    fn replace_of_a_constant_agrees_with_str_replace(
        text in "[ab.*$()\\\\é]{0,12}",
        old in "[ab.*$()\\\\é]{1,3}",
        new in "[xy$1{}\\\\]{0,4}",
    ) {
        let r = user(json!({"s": text}));
        let ctx = EvalContext::new(now());
        let lit = |t: &str| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""));
        let e = format!("Replace([s], {}, , , {}, , )", lit(&old), lit(&new));
        let v = Expression::parse(&e).unwrap().evaluate(&r, &ctx).unwrap();
        prop_assert_eq!(v, s(&text.replace(&old, &new)), "{}", e);
    }
}
