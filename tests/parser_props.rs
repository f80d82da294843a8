//! Property tests for the filter and PATCH-path parsers and the PATCH engine: no input panics,
//! every rejection is a SCIM 400 with the scimType RFC 7644 §3.12 gives it, and every filter the
//! grammar generates parses.

use proptest::prelude::*;
use scimulator::scim::error::ScimType;
use scimulator::scim::filter::{parse_filter, parse_path};
use scimulator::scim::patch::apply_patch;
use scimulator::scim::resource::normalize;
use scimulator::scim::schema::{GROUP_TYPE, USER_TYPE};
use serde_json::{json, Value};

/// Fragments that make near-miss filters more often than random bytes do.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("emails".to_string()),
        Just("emails[".to_string()),
        Just("]".to_string()),
        Just(".value".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(" and ".to_string()),
        Just(" or ".to_string()),
        Just("not ".to_string()),
        Just(" eq ".to_string()),
        Just(" pr".to_string()),
        Just(" gt ".to_string()),
        Just("\"x\"".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:".to_string()),
        Just("true".to_string()),
        Just("12.5e3".to_string()),
        Just("-".to_string()),
        Just(" ".to_string()),
        "\\PC{0,4}",
    ]
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..12).prop_map(|v| v.concat())
}

fn attr() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName"),
        Just("name.givenName"),
        Just("emails.value"),
        Just("meta.created"),
        Just("active"),
        Just("externalId"),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"),
        Just("urn:ietf:params:scim:schemas:extension:ciscoumbrella:2.0:User:nativeObjectId"),
    ]
    .prop_map(str::to_string)
}

fn comparison() -> impl Strategy<Value = String> {
    let op = prop_oneof![
        Just("eq"),
        Just("NE"),
        Just("co"),
        Just("Sw"),
        Just("ew"),
        Just("gt"),
        Just("ge"),
        Just("lt"),
        Just("le")
    ];
    let value = prop_oneof![
        "[a-zA-Z0-9@. ]{0,8}".prop_map(|s| format!("{s:?}")),
        (-1000i64..1000).prop_map(|n| n.to_string()),
        Just("\"2024-01-01T00:00:00Z\"".to_string()),
    ];
    prop_oneof![
        (attr(), op, value).prop_map(|(a, o, v)| format!("{a} {o} {v}")),
        attr().prop_map(|a| format!("{a} pr")),
        "[a-z@.]{0,6}".prop_map(|s| format!("emails[type eq \"work\" and value co {s:?}]")),
    ]
}

fn valid_filter() -> impl Strategy<Value = String> {
    comparison().prop_recursive(4, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} OR {b}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn filters_never_panic_and_reject_with_invalid_filter(s in prop_oneof![soup(), "\\PC{0,40}"]) {
        if let Err(e) = parse_filter(&s) {
            prop_assert_eq!(e.status, 400);
            prop_assert_eq!(e.scim_type, Some(ScimType::InvalidFilter));
            prop_assert!(!e.detail.is_empty());
        } else {
            // Anything that parses can be evaluated.
            let f = parse_filter(&s).unwrap();
            let _ = f.matches(&json!({"userName": "a", "emails": [{"value": "x", "type": "work"}]}), &USER_TYPE);
        }
    }

    #[test]
    fn paths_never_panic_and_reject_with_invalid_path(s in prop_oneof![soup(), "\\PC{0,40}"]) {
        if let Err(e) = parse_path(&s) {
            prop_assert_eq!(e.status, 400);
            prop_assert_eq!(e.scim_type, Some(ScimType::InvalidPath));
        }
    }

    #[test]
    fn generated_filters_parse_and_evaluate(f in valid_filter()) {
        let parsed = parse_filter(&f);
        prop_assert!(parsed.is_ok(), "{f}: {:?}", parsed.err());
        let user = json!({"userName": "Alice", "active": true, "name": {"givenName": "A"},
            "emails": [{"type": "work", "value": "a@x.example"}], "meta": {"created": "2024-01-01T00:00:00Z"}});
        let _ = parsed.unwrap().matches(&user, &USER_TYPE);
    }

    #[test]
    fn patch_never_panics_and_errors_are_400(
        op in prop_oneof![Just("add"), Just("Replace"), Just("REMOVE"), Just("move")],
        path in prop_oneof![soup(), Just(String::new())],
        value in prop_oneof![
            Just(json!("x")), Just(json!(null)), Just(json!(true)), Just(json!("False")),
            Just(json!([{"value": "a"}])), Just(json!({"name.givenName": "K", "active": "True"})),
            Just(json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}})),
        ],
        group in any::<bool>(),
    ) {
        let rt = if group { &*GROUP_TYPE } else { &*USER_TYPE };
        let start = if group { json!({"displayName": "G", "members": [{"value": "a"}]}) } else {
            json!({"userName": "u", "emails": [{"type": "work", "value": "e"}]})
        };
        let mut r = Value::Object(normalize(&start, rt).unwrap().body);
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": op, "path": path, "value": value}]});
        match apply_patch(&mut r, &body, rt).and_then(|_| normalize(&r, rt).map(|_| ())) {
            Ok(()) => {}
            Err(e) => prop_assert_eq!(e.status, 400, "{}", e.detail),
        }
    }
}
