//! `api/openapi.json` against the running server: it is what
//! `GET /openapi.json` serves; every route the router declares
//! (`api/src/http/mod.rs`) is described and nothing else is; and a request
//! to every described operation (its examples, plus the error cases the
//! tests can provoke) gets a documented status, a documented content type,
//! the documented headers and, for JSON, a body that matches the schema.

use provlog_ledger::cbor::{self, Value as Cbor};
use provlog_ledger::rules::RuleSet;
use provlog_tests::chain::hours_ago;
use provlog_tests::problem::problem;
use provlog_tests::server::{Setup, TestLog, COSE};
use provlog_tests::HttpResponse;
use serde_json::Value;
use std::collections::BTreeSet;

const SPEC: &str = include_str!("../../api/openapi.json");
const ROUTER: &str = include_str!("../../api/src/http/mod.rs");

/// `(method, path)` of every `.route("PATH", method(…))` in the router,
/// with axum's `/tile/{*path}` spelled as the two documented tile paths.
fn router_routes() -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for line in ROUTER.lines() {
        let Some(rest) = line.trim().strip_prefix(".route(\"") else { continue };
        let (path, rest) = rest.split_once('"').unwrap();
        let method = rest.trim_start_matches(", ").split('(').next().unwrap().to_owned();
        if path == "/tile/{*path}" {
            out.insert((method.clone(), "/tile/{level}/{index}".to_owned()));
            out.insert((method, "/tile/entries/{index}".to_owned()));
        } else {
            out.insert((method, path.to_owned()));
        }
    }
    out
}

/// Resolves a `$ref` within the document.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let target = r.strip_prefix("#/").unwrap().split('/').fold(doc, |v, k| &v[k]);
            resolve(doc, target)
        }
        None => schema,
    }
}

/// A small JSON Schema check: `$ref`, `type`, `const`, `enum`, `oneOf`,
/// `required`, `properties`, `additionalProperties`, `items`, `pattern`
/// (only `^[0-9a-f]{64}$`), `minimum`.
fn check(doc: &Value, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
    let s = resolve(doc, schema);
    if let Some(c) = s.get("const") {
        return if c == v { Ok(()) } else { Err(format!("{at}: {v} != const {c}")) };
    }
    if let Some(e) = s["enum"].as_array() {
        return if e.contains(v) { Ok(()) } else { Err(format!("{at}: {v} not in {e:?}")) };
    }
    if let Some(alts) = s["oneOf"].as_array() {
        let ok = alts.iter().filter(|a| check(doc, a, v, at).is_ok()).count();
        return if ok == 1 { Ok(()) } else { Err(format!("{at}: {v} matches {ok} of oneOf")) };
    }
    let types: Vec<&str> = match &s["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let is = |t: &str| match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        return Err(format!("{at}: {v} is not {types:?}"));
    }
    if let (Some(min), Some(n)) = (s["minimum"].as_i64(), v.as_i64()) {
        if n < min {
            return Err(format!("{at}: {n} < {min}"));
        }
    }
    if let (Some("^[0-9a-f]{64}$"), Some(text)) = (s["pattern"].as_str(), v.as_str()) {
        if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(format!("{at}: {text:?} is not 64 lower-case hex digits"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in s["required"].as_array().into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                return Err(format!("{at}: missing {r}"));
            }
        }
        for (k, val) in obj {
            if let Some(p) = s["properties"].get(k) {
                check(doc, p, val, &format!("{at}.{k}"))?;
            } else if let Some(ap) = s.get("additionalProperties").filter(|a| a.is_object()) {
                check(doc, ap, val, &format!("{at}.{k}"))?;
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(doc, items, x, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// Checks a response against the documented operation `op`.
fn conforms(doc: &Value, op: &Value, what: &str, r: &HttpResponse) {
    let status = r.status.to_string();
    let documented = &op["responses"][&status];
    assert!(documented.is_object(), "{what}: status {status} is not documented: {}", r.text());
    let ctype = r.header("content-type").unwrap_or("");
    let norm = |t: &str| t.to_ascii_lowercase().replace(' ', "");
    match documented["content"].as_object() {
        None => assert!(r.body.is_empty(), "{what}: undocumented body"),
        Some(content) => {
            let (_, media) = content
                .iter()
                .find(|(k, _)| norm(k) == norm(ctype))
                .unwrap_or_else(|| panic!("{what}: {status} content type {ctype:?} not documented"));
            if ctype.starts_with("application/json") || ctype.starts_with("application/problem+json") {
                let v: Value = serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{what}: {e}"));
                check(doc, &media["schema"], &v, "body").unwrap_or_else(|e| panic!("{what}: {e}\n{v}"));
            }
        }
    }
    for h in documented["headers"].as_object().into_iter().flatten().map(|(k, _)| k) {
        assert!(r.header(&h.to_ascii_lowercase()).is_some(), "{what}: documented header {h} missing");
    }
}

/// One request of the test: the operation it exercises (method and path
/// template), the concrete URL, and a body with its content type.
struct Request {
    method: &'static str,
    path: String,
    url: String,
    body: Option<(&'static str, Vec<u8>)>,
}

#[test]
fn openapi_describes_every_route_and_every_answer() {
    let log = TestLog::start(Setup::new(RuleSet::permissive("p")));
    let farm = log.parties.farm.clone();
    let mut ids = Vec::new();
    for i in 0..3 {
        let s = log
            .sign(&farm, &log.commission(&farm, &[farm.sgtin("107346", &format!("{i}"))], &hours_ago(1.0)));
        ids.push(log.register(&s).id);
    }
    let fresh = |serial: &str| {
        log.sign(&farm, &log.commission(&farm, &[farm.sgtin("107346", serial)], &hours_ago(1.0)))
            .as_bytes()
            .to_vec()
    };

    // Served verbatim.
    let served = log.get("/openapi.json");
    assert_eq!(served.header("content-type"), Some("application/json"));
    assert!(
        served.body == SPEC.as_bytes(),
        "/openapi.json is not api/openapi.json (is provlog-server up to date?)"
    );
    let doc: Value = serde_json::from_str(SPEC).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    // The router's routes and the described ones are the same set.
    let described: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, item)| item.as_object().unwrap().keys().map(move |m| (m.clone(), p.clone())))
        .collect();
    assert_eq!(router_routes(), described, "router (left) and openapi.json (right) differ");

    // Every operation, with its examples (a real statement ID for /entries/{id}).
    let mut requests: Vec<Request> = Vec::new();
    for (method, path) in &described {
        let op = &doc["paths"][path][method];
        let mut url = path.clone();
        let mut query = Vec::new();
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap();
            let example = match &p["example"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => continue,
            };
            let value = if path.starts_with("/entries/") && name == "id" { ids[0].clone() } else { example };
            match p["in"].as_str().unwrap() {
                "path" => url = url.replace(&format!("{{{name}}}"), &value),
                _ => query.push(format!("{name}={value}")),
            }
        }
        if !query.is_empty() {
            url = format!("{url}?{}", query.join("&"));
        }
        let body = match path.as_str() {
            "/entries" => Some((COSE, fresh("example"))),
            "/entries/batch" => Some((
                "application/cbor",
                cbor::encode(&Cbor::Array(vec![Cbor::bytes(fresh("batch example"))])),
            )),
            _ => None,
        };
        let method = match method.as_str() {
            "get" => "get",
            "post" => "post",
            other => panic!("{other} {path}: the test knows GET and POST only"),
        };
        requests.push(Request { method, path: path.clone(), url, body });
    }
    // The documented refusals the tests can provoke.
    let unknown = "0".repeat(64);
    for (path, url) in [
        ("/entries/{id}", format!("/entries/{unknown}")),
        ("/entries/{id}", "/entries/NOT-AN-ID".to_owned()),
        ("/entries/{id}/statement", format!("/entries/{unknown}/statement")),
        ("/entries/{id}/status", "/entries/abc/status".to_owned()),
        ("/tile/{level}/{index}", "/tile/0/999".to_owned()),
        ("/tile/{level}/{index}", "/tile/0/000.p/0".to_owned()),
        ("/tile/entries/{index}", "/tile/entries/x001/000".to_owned()),
        ("/proof/inclusion", "/proof/inclusion?index=abc".to_owned()),
        ("/proof/inclusion", "/proof/inclusion".to_owned()),
        ("/proof/inclusion", "/proof/inclusion?index=99&size=2".to_owned()),
        ("/proof/inclusion", format!("/proof/inclusion?id={unknown}")),
        ("/proof/consistency", "/proof/consistency".to_owned()),
        ("/proof/consistency", "/proof/consistency?old=3&new=2".to_owned()),
        ("/registry/partners/{id}", "/registry/partners/nobody".to_owned()),
        ("/lineage/{identifier}", "/lineage/urn:epc:id:sgtin:0614141.107346.0?direction=sideways".to_owned()),
        ("/lineage/{identifier}", "/lineage/urn:epc:id:sgtin:12?direction=back".to_owned()),
    ] {
        requests.push(Request { method: "get", path: path.into(), url, body: None });
    }
    for (ctype, body) in [("application/json", fresh("x")), (COSE, vec![0xff]), (COSE, vec![0; 70_000])] {
        requests.push(Request {
            method: "post",
            path: "/entries".into(),
            url: "/entries".into(),
            body: Some((ctype, body)),
        });
    }
    for body in [("application/cbor", vec![0xa0]), (COSE, vec![0x80])] {
        let path = "/entries/batch".to_owned();
        requests.push(Request { method: "post", url: path.clone(), path, body: Some(body) });
    }

    let mut statuses = BTreeSet::new();
    for Request { method, path, url, body } in requests {
        let r = match body {
            Some((ctype, body)) => log.post(&url, ctype, body, None),
            None => log.get(&url),
        };
        conforms(&doc, &doc["paths"][&path][method], &format!("{method} {url}"), &r);
        statuses.insert((path, r.status));
    }
    eprintln!("exercised {statuses:?}");

    // Nothing else is served.
    for path in ["/nope", "/entries/x/y/z", "/registry/partners/a/b", "/checkpoint/x", "/tile/9x/000"] {
        let p = problem(&log.get(path));
        assert_eq!((p.status, p.rule.as_str()), (404, "request.not-found"), "{path}");
    }
    let r = log.client.delete(log.url("/entries")).send().unwrap();
    assert_eq!(r.status().as_u16(), 405);
    log.verify();
}
