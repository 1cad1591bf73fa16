//! Tests of the EPCIS module as a whole: every GS1 example event, the
//! normalized view, and one refusal per check, each on a minimal event with
//! one mutation. The differential check against GS1's schema is in
//! `schema_tests.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::*;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/vectors/epcis");
const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// Every `.jsonld` file under the vectors directory, relative path → bytes.
pub(super) fn example_files() -> BTreeMap<String, Vec<u8>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "jsonld") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(Path::new(VECTORS), &mut paths);
    paths
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(VECTORS).unwrap().to_string_lossy().trim_start_matches('/').to_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// The events of one example file.
fn example(name: &str) -> Vec<Event> {
    let bytes = std::fs::read(format!("{VECTORS}/{name}")).unwrap();
    split_document(&bytes).unwrap().into_iter().map(|d| d.event).collect()
}

fn canonicals(ids: &[Identifier]) -> Vec<&str> {
    ids.iter().map(|i| i.canonical.as_str()).collect()
}

fn amounts(quantities: &[Quantity]) -> Vec<(&str, Option<f64>, Option<&str>)> {
    quantities.iter().map(|q| (q.epc_class.raw.as_str(), q.quantity, q.uom.as_deref())).collect()
}

#[test]
fn every_gs1_example_event_parses() {
    let expected: BTreeMap<&str, usize> = [
        ("AssociationEvent/AssociationEvent-a.jsonld", 1),
        ("AssociationEvent/AssociationEvent-b.jsonld", 1),
        ("AssociationEvent/AssociationEvent-c.jsonld", 1),
        ("AssociationEvent/AssociationEvent-d.jsonld", 1),
        ("AssociationEvent/AssociationEvent-e.jsonld", 1),
        ("AssociationEvent/AssociationEvent-f.jsonld", 1),
        ("AssociationEvent/AssociationEvent-g.jsonld", 1),
        ("AssociationEvent/AssociationEvent-h.jsonld", 1),
        ("EPCISQueryDocument.jsonld", 2),
        ("Example-TransactionEvents-2020_07_03y.jsonld", 2),
        ("Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld", 1),
        ("Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld", 2),
        ("Example_9.6.1-ObjectEvent.jsonld", 2),
        ("Example_9.6.1-with-comment.jsonld", 2),
        ("Example_9.6.2-ObjectEvent.jsonld", 1),
        ("Example_9.6.3-AggregationEvent.jsonld", 1),
        ("Example_9.6.4-TransformationEvent.jsonld", 1),
        ("PersistentDisposition-example.jsonld", 2),
        ("WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld", 2),
        ("WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld", 1),
        ("WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld", 1),
        ("WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld", 1),
        ("WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld", 2),
        ("WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld", 2),
        ("WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld", 1),
        ("WithFullCombinationOfFields/association_event_all_possible_fields.jsonld", 1),
        ("WithFullCombinationOfFields/object_event_all_possible_fields.jsonld", 1),
        ("WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld", 1),
        ("WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld", 1),
        ("WithSensorData/SensorDataExample1.jsonld", 1),
        ("WithSensorData/SensorDataExample10.jsonld", 1),
        ("WithSensorData/SensorDataExample11.jsonld", 1),
        ("WithSensorData/SensorDataExample12.jsonld", 1),
        ("WithSensorData/SensorDataExample13.jsonld", 1),
        ("WithSensorData/SensorDataExample14.jsonld", 1),
        ("WithSensorData/SensorDataExample15.jsonld", 1),
        ("WithSensorData/SensorDataExample16.jsonld", 1),
        ("WithSensorData/SensorDataExample17.jsonld", 1),
        ("WithSensorData/SensorDataExample1b.jsonld", 1),
        ("WithSensorData/SensorDataExample2.jsonld", 1),
        ("WithSensorData/SensorDataExample3.jsonld", 1),
        ("WithSensorData/SensorDataExample4.jsonld", 1),
        ("WithSensorData/SensorDataExample5.jsonld", 1),
        ("WithSensorData/SensorDataExample6.jsonld", 1),
        ("WithSensorData/SensorDataExample7.jsonld", 1),
        ("WithSensorData/SensorDataExample8.jsonld", 1),
        ("WithSensorData/SensorDataExample9.jsonld", 1),
    ]
    .into_iter()
    .collect();
    let files = example_files();
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        expected.keys().copied().collect::<Vec<_>>()
    );
    let mut kinds = BTreeMap::new();
    for (name, bytes) in &files {
        let events = split_document(bytes).unwrap_or_else(|e| panic!("{name}: {e} ({e:?})"));
        assert_eq!(events.len(), expected[name.as_str()], "{name}");
        for (i, d) in events.iter().enumerate() {
            // The payload the client signs is what the log reads, byte for byte.
            let again = parse_event(&d.payload).unwrap_or_else(|e| panic!("{name}[{i}]: {e:?}"));
            assert_eq!(again, d.event, "{name}[{i}]");
            assert!(d.payload.len() <= MAX_EVENT_BYTES);
            *kinds.entry(d.event.kind).or_insert(0) += 1;
        }
    }
    let want = [
        (EventKind::Object, 32),
        (EventKind::Aggregation, 4),
        (EventKind::Transaction, 4),
        (EventKind::Transformation, 6),
        (EventKind::Association, 10),
    ];
    assert_eq!(kinds, want.into_iter().collect::<BTreeMap<_, _>>());
}

#[test]
fn transformation_example_reads_inputs_outputs_and_ilmd() {
    let [e] = example("Example_9.6.4-TransformationEvent.jsonld").try_into().unwrap();
    assert_eq!((e.kind, e.action), (EventKind::Transformation, None));
    assert_eq!(e.event_time_ms, 1_383_231_536_591); // 2013-10-31T14:58:56.591Z
    assert_eq!(e.time_zone_offset.to_string(), "+02:00");
    assert_eq!(
        canonicals(&e.input_epcs),
        ["https://id.gs1.org/01/04012345111224/21/25", "https://id.gs1.org/01/04000001654321/21/99886655"]
    );
    assert_eq!(e.input_epcs[1].company_prefix.as_deref(), Some("4000001"));
    assert_eq!(
        amounts(&e.input_quantities),
        [
            ("urn:epc:class:lgtin:4012345.011111.4444", Some(10.0), Some("KGM")),
            ("urn:epc:class:lgtin:0614141.077777.987", Some(30.0), None),
            ("urn:epc:idpat:sgtin:4012345.066666.*", Some(220.0), None),
        ]
    );
    assert_eq!(e.output_epcs.len(), 4);
    assert_eq!(e.output_epcs[3].raw, "urn:epc:id:sgtin:4012345.077889.28");
    assert!(e.output_quantities.is_empty() && e.transformation_id.is_none());
    assert_eq!(e.biz_step.as_deref(), Some("commissioning"));
    assert_eq!(e.ilmd.as_ref().unwrap()["example:batch"], "XYZ");
    assert_eq!(e.extensions["example:myField"], "Example of a vendor/user extension");
    assert_eq!(e.identifiers().len(), 2 + 3 + 4);

    // GS1's Digital Link rendition of the same event names the same classes.
    let [dl] = example("WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld")
        .try_into()
        .unwrap();
    let classes =
        |e: &Event| e.input_quantities.iter().map(|q| q.epc_class.canonical.clone()).collect::<Vec<_>>();
    assert_eq!(classes(&dl), classes(&e));
    assert_eq!(dl.input_quantities[1].epc_class.company_prefix, None);
}

#[test]
fn sensor_examples_read_report_values() {
    let [e] = example("WithSensorData/SensorDataExample2.jsonld").try_into().unwrap();
    let reports: Vec<_> = e.sensor_reports().collect();
    assert_eq!(reports.len(), 4);
    let t = reports[0];
    assert_eq!(
        (t.measurement_type.as_str(), t.min_value, t.max_value, t.mean_value, t.s_dev, t.uom.as_deref()),
        ("Temperature", Some(26.0), Some(26.2), Some(26.1), Some(0.1), Some("CEL"))
    );
    let metadata = e.sensor_elements[0].metadata.as_ref().unwrap();
    assert_eq!(metadata.start_time_ms, Some(1_554_209_701_000)); // 2019-04-02T13:55:01+01:00
    assert_eq!(metadata.device_id.as_deref(), Some("urn:epc:id:giai:4000001.111"));

    let [e] = example("WithSensorData/SensorDataExample1.jsonld").try_into().unwrap();
    let values: Vec<_> =
        e.sensor_reports().filter(|r| r.measurement_type == "Temperature").map(|r| r.value).collect();
    assert_eq!(values, [Some(26.0), Some(26.1), Some(26.2)]);

    let [e] = example("WithSensorData/SensorDataExample9.jsonld").try_into().unwrap();
    let exceptions: Vec<_> = e.sensor_reports().map(|r| r.exception.as_deref()).collect();
    assert_eq!(exceptions, [Some("ERROR_CONDITION"), Some("ALARM_CONDITION")]);

    let [e] = example("WithSensorData/SensorDataExample7.jsonld").try_into().unwrap();
    let r: Vec<_> = e.sensor_reports().collect();
    assert_eq!((r[2].measurement_type.as_str(), r[2].boolean_value), ("example:Def", Some(true)));
    assert_eq!(r[4].hex_binary_value.as_deref(), Some("F0F0F0"));

    // An ObjectEvent may name no object when it reports sensor data at a read point.
    let [e] = example("WithSensorData/SensorDataExample1b.jsonld").try_into().unwrap();
    assert!(e.identifiers().is_empty());
    assert_eq!(e.read_point.as_ref().unwrap().gln(), Some("4012345000054"));

    let [e] = example("WithSensorData/SensorDataExample12.jsonld").try_into().unwrap();
    let declaration = e.error_declaration.unwrap();
    assert_eq!(declaration.reason, None);
    assert_eq!(declaration.extensions["example:issuer"], "Employee 123");
    assert_eq!(e.sensor_elements[0].extensions["example:someUserField"], "abc123");
}

#[test]
fn error_declaration_examples_read_corrective_event_ids() {
    let [declared, corrective] =
        example("WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld").try_into().unwrap();
    let d = declared.error_declaration.as_ref().unwrap();
    assert_eq!(d.reason.as_deref(), Some("incorrect_data"));
    assert_eq!(d.corrective_event_ids, ["urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"]);
    assert_eq!(d.declaration_time_ms, 1_579_042_800_000); // 2020-01-15T00:00:00+01:00
    assert_eq!(d.extensions["example:vendorExtension"], "Test1");
    assert_eq!(corrective.event_id.as_deref(), Some("urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"));
    assert_eq!(amounts(&declared.output_quantities)[0].1, Some(452.0));
    assert_eq!(amounts(&corrective.output_quantities)[0].1, Some(500.0));
    assert!(corrective.error_declaration.is_none());

    let [e, _] = example("WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld")
        .try_into()
        .unwrap();
    assert_eq!(e.error_declaration.unwrap().corrective_event_ids.len(), 2);
}

#[test]
fn aggregation_and_association_examples_read_parents_and_children() {
    let [e] = example("Example_9.6.3-AggregationEvent.jsonld").try_into().unwrap();
    assert_eq!(e.action, Some(Action::Observe));
    let parent = e.parent_id.as_ref().unwrap();
    assert_eq!((parent.kind, parent.company_prefix.as_deref()), (IdentifierKind::Sscc, Some("0614141")));
    assert_eq!(e.child_epcs.len(), 2);
    assert_eq!(
        amounts(&e.child_quantities),
        [
            ("urn:epc:idpat:sgtin:4012345.098765.*", Some(10.0), None),
            ("urn:epc:class:lgtin:4012345.012345.998877", Some(200.5), Some("KGM")),
        ]
    );
    let roles: Vec<Role> = e.identifiers().iter().map(|r| r.role).collect();
    assert_eq!(roles, [Role::Parent, Role::Child, Role::Child, Role::ChildQuantity, Role::ChildQuantity]);

    // A DELETE may name no children: the whole association ends.
    let [e] = example("AssociationEvent/AssociationEvent-d.jsonld").try_into().unwrap();
    assert_eq!((e.kind, e.action, e.child_epcs.len()), (EventKind::Association, Some(Action::Delete), 0));
    // AssociationEvent-b's parent is a location.
    let [e] = example("AssociationEvent/AssociationEvent-b.jsonld").try_into().unwrap();
    assert_eq!(e.parent_id.unwrap().kind, IdentifierKind::Sgln);
}

#[test]
fn other_examples_read_their_distinctive_fields() {
    let [e, _] = example("PersistentDisposition-example.jsonld").try_into().unwrap();
    assert_eq!(e.persistent_disposition.unwrap().set, ["completeness_inferred"]);
    let [_, e] = example("PersistentDisposition-example.jsonld").try_into().unwrap();
    let p = e.persistent_disposition.unwrap();
    assert_eq!(
        (p.set, p.unset),
        (vec!["completeness_verified".to_owned()], vec!["completeness_inferred".to_owned()])
    );

    let [first, rail] = example("Example-TransactionEvents-2020_07_03y.jsonld").try_into().unwrap();
    assert_eq!(first.biz_step.as_deref(), Some("http://epcis.example.org/hc/bizstep/summarising_discharge"));
    assert_eq!(first.biz_transactions[0].transaction_type, None);
    assert_eq!(
        rail.biz_transactions[0].transaction_type.as_deref(),
        Some("urn:gs1:epcisapp:rail:btt:passage")
    );
    assert_eq!(rail.extensions["rail:vehicle"][2]["rail:vehicleUniquelyIdentified"], true);
    assert_eq!(rail.sources[0].kind, "location");

    let [e] =
        example("WithFullCombinationOfFields/object_event_all_possible_fields.jsonld").try_into().unwrap();
    assert_eq!(e.certification_info, ["https://accreditation-council.example.org/certificate/ABC12345"]);
    assert_eq!(e.action, Some(Action::Add));
    assert!(e.ilmd.as_ref().unwrap().contains_key("cbvmda:lotNumber"));
    assert_eq!(e.destinations[2].kind, "owning_party");
    assert_eq!(e.destinations[2].id.gln(), Some("0614141007776"));

    let [e] = example("WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld")
        .try_into()
        .unwrap();
    assert_eq!(e.transformation_id.as_deref(), Some("urn:epc:id:gdti:0614141.12345.400"));
    assert_eq!(e.output_quantities.len(), 3);

    let [e] = example("WithSensorData/SensorDataExample16.jsonld").try_into().unwrap();
    assert_eq!(e.read_point.unwrap().kind, IdentifierKind::Other);
}

#[test]
fn document_split_injects_the_document_context() {
    let bytes = std::fs::read(format!("{VECTORS}/EPCISQueryDocument.jsonld")).unwrap();
    let events = split_document(&bytes).unwrap();
    for d in &events {
        let payload: Value = serde_json::from_slice(&d.payload).unwrap();
        assert_eq!(payload["@context"][0], CONTEXT);
        assert_eq!(payload["@context"][1]["example"], "http://ns.example.com/epcis/");
    }
    assert_eq!(events[1].event.extensions["example:myField"], "Example of a vendor/user extension");
}

#[test]
fn duplicate_keys_are_refused_in_a_payload_and_last_wins_in_a_document() {
    // GS1's AssociationEvent-h states eventID twice. A client splitting the
    // document keeps the last one, as JSON.parse does ...
    let [e] = example("AssociationEvent/AssociationEvent-h.jsonld").try_into().unwrap();
    assert_eq!(e.event_id.as_deref(), Some("urn:uuid:fd338495-0e6d-41dd-afee-a862ecd32518"));
    // ... but the log refuses a payload that does, whatever its position.
    let payload = format!(
        r#"{{"@context":"{CONTEXT}","eventID":"ni:///sha-256;fec9?ver=CBV2.0","type":"AssociationEvent",
        "eventTime":"2019-11-04T14:00:00.000+01:00","eventTimeZoneOffset":"+01:00",
        "eventID":"urn:uuid:fd338495-0e6d-41dd-afee-a862ecd32518","parentID":"urn:epc:id:grai:4012345.55555.987",
        "action":"DELETE"}}"#
    );
    let err = parse_event(payload.as_bytes()).unwrap_err();
    assert!(
        matches!(err, EpcisError::DuplicateKey { ref field, ref key } if field == "eventID" && key == "eventID")
    );
}

// ---- normalization -------------------------------------------------------

fn object_event() -> Value {
    json!({
        "@context": CONTEXT,
        "type": "ObjectEvent",
        "eventTime": "2024-05-01T10:00:00.123456Z",
        "eventTimeZoneOffset": "+02:00",
        "action": "OBSERVE",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
    })
}

fn aggregation_event() -> Value {
    json!({
        "@context": CONTEXT,
        "type": "AggregationEvent",
        "eventTime": "2024-05-01T10:00:00Z",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "parentID": "urn:epc:id:sscc:0614141.1234567890",
        "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
    })
}

fn transaction_event() -> Value {
    json!({
        "@context": CONTEXT,
        "type": "TransactionEvent",
        "eventTime": "2024-05-01T10:00:00Z",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "bizTransactionList": [{"type": "po", "bizTransaction": "http://transaction.acme.com/po/1"}],
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
    })
}

fn transformation_event() -> Value {
    json!({
        "@context": CONTEXT,
        "type": "TransformationEvent",
        "eventTime": "2024-05-01T10:00:00Z",
        "eventTimeZoneOffset": "+02:00",
        "inputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.4444", "quantity": 500, "uom": "KGM"}],
        "outputQuantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.022222.77", "quantity": 452, "uom": "KGM"}],
    })
}

fn association_event() -> Value {
    json!({
        "@context": CONTEXT,
        "type": "AssociationEvent",
        "eventTime": "2024-05-01T10:00:00Z",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "parentID": "urn:epc:id:grai:4012345.55555.987",
        "childEPCs": ["urn:epc:id:giai:4000001.12345"],
    })
}

/// One minimal valid event of each type.
pub(super) fn minimal_events() -> [Value; 5] {
    [object_event(), aggregation_event(), transaction_event(), transformation_event(), association_event()]
}

/// `base` with `change` applied to its top-level object.
pub(super) fn with(mut base: Value, change: impl FnOnce(&mut Map<String, Value>)) -> Value {
    change(base.as_object_mut().unwrap());
    base
}

fn parse(v: &Value) -> Result<Event, EpcisError> {
    parse_event(&serde_json::to_vec(v).unwrap())
}

#[track_caller]
fn refused(v: &Value) -> EpcisError {
    match parse(v) {
        Ok(e) => panic!("accepted: {v}\n{e:?}"),
        Err(e) => e,
    }
}

/// The variant name and `field` of an error, for compact assertions.
fn summary(e: &EpcisError) -> (String, String) {
    let debug = format!("{e:?}");
    let name = debug.split([' ', '{', '(']).next().unwrap().to_owned();
    let field = match e {
        EpcisError::TooDeep { field, .. }
        | EpcisError::TooManyItems { field, .. }
        | EpcisError::DuplicateKey { field, .. }
        | EpcisError::WrongType { field, .. }
        | EpcisError::MissingField { field }
        | EpcisError::UnknownField { field }
        | EpcisError::InvalidField { field, .. } => field.clone(),
        _ => String::new(),
    };
    (name, field)
}

#[track_caller]
fn assert_refused(v: &Value, variant: &str, field: &str) {
    let e = refused(v);
    assert_eq!(summary(&e), (variant.to_owned(), field.to_owned()), "{e}");
}

#[track_caller]
fn assert_invalid(v: &Value, field: &str, reason: InvalidReason) {
    match refused(v) {
        EpcisError::InvalidField { field: f, reason: r } if f == field && r == reason => {}
        e => panic!("want InvalidField {{ {field}, {reason:?} }}, got {e:?}"),
    }
}

#[test]
fn minimal_events_of_every_type_parse() {
    let kinds: Vec<EventKind> = minimal_events().iter().map(|v| parse(v).unwrap().kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Object,
            EventKind::Aggregation,
            EventKind::Transaction,
            EventKind::Transformation,
            EventKind::Association
        ]
    );
    let e = parse(&object_event()).unwrap();
    assert_eq!(e.event_time_ms, 1_714_557_600_123);
    assert_eq!(e.epcs[0].company_prefix.as_deref(), Some("0614141"));
}

#[test]
fn cbv_web_uris_normalize_to_short_names() {
    let e = parse(&with(object_event(), |m| {
        m.insert("bizStep".into(), json!("https://ref.gs1.org/cbv/BizStep-shipping"));
        m.insert("disposition".into(), json!("https://ref.gs1.org/cbv/Disp-in_transit"));
        m.insert(
            "sourceList".into(),
            json!([{"type": "https://ref.gs1.org/cbv/SDT-owning_party",
            "source": "urn:epc:id:pgln:0614141.00001"}]),
        );
    }))
    .unwrap();
    assert_eq!((e.biz_step.as_deref(), e.disposition.as_deref()), (Some("shipping"), Some("in_transit")));
    assert_eq!(e.sources[0].kind, "owning_party");
    assert_eq!(e.sources[0].id.gln(), Some("0614141000012"));
}

#[test]
fn recalls_are_recognized_by_disposition_or_persistent_disposition() {
    assert!(!parse(&object_event()).unwrap().is_recall());
    let by_disposition = with(object_event(), |m| {
        m.insert("disposition".into(), json!("recalled"));
    });
    assert!(parse(&by_disposition).unwrap().is_recall());
    let by_persistent = with(object_event(), |m| {
        m.insert("persistentDisposition".into(), json!({"set": ["https://ref.gs1.org/cbv/Disp-recalled"]}));
    });
    assert!(parse(&by_persistent).unwrap().is_recall());
    let unset = with(object_event(), |m| {
        m.insert("persistentDisposition".into(), json!({"unset": ["recalled"]}));
    });
    assert!(!parse(&unset).unwrap().is_recall());
}

#[test]
fn identifiers_list_every_object_once_per_mention() {
    let e = parse(&with(transformation_event(), |m| {
        m.insert("inputEPCList".into(), json!(["urn:epc:id:sgtin:0614141.107346.2017"]));
        m.insert("outputEPCList".into(), json!(["https://id.gs1.org/01/10614141073464/21/2017"]));
    }))
    .unwrap();
    let refs = e.identifiers();
    let roles: Vec<Role> = refs.iter().map(|r| r.role).collect();
    assert_eq!(roles, [Role::Input, Role::InputQuantity, Role::Output, Role::OutputQuantity]);
    assert_eq!((refs[1].quantity, refs[1].uom), (Some(500.0), Some("KGM")));
    // The same SGTIN in two syntaxes is one canonical identifier.
    assert_eq!(e.canonical_identifiers().len(), 3);
}

// ---- refusals: one per check, on a minimal event --------------------------

#[test]
fn missing_required_common_fields_are_refused() {
    for key in ["eventTime", "eventTimeZoneOffset", "@context", "type"] {
        assert_refused(&with(object_event(), |m| drop(m.remove(key))), "MissingField", key);
    }
}

#[test]
fn bad_times_are_refused() {
    for bad in ["2024-05-01", "2024-05-01T10:00:00", "2024-02-30T10:00:00Z", "2016-12-31T23:59:60Z"] {
        let v = with(object_event(), |m| drop(m.insert("eventTime".into(), json!(bad))));
        assert_invalid(&v, "eventTime", InvalidReason::NotDateTime);
    }
    let v = with(object_event(), |m| drop(m.insert("recordTime".into(), json!("yesterday"))));
    assert_invalid(&v, "recordTime", InvalidReason::NotDateTime);
    let v = with(object_event(), |m| drop(m.insert("eventTime".into(), json!(1714557600))));
    assert_refused(&v, "WrongType", "eventTime");
}

#[test]
fn bad_time_zone_offsets_are_refused() {
    for bad in ["+14:30", "+1:00", "UTC", "Z", "+02:00:00"] {
        let v = with(object_event(), |m| drop(m.insert("eventTimeZoneOffset".into(), json!(bad))));
        assert_invalid(&v, "eventTimeZoneOffset", InvalidReason::NotTimeZoneOffset);
    }
}

#[test]
fn unknown_action_is_refused() {
    for bad in ["MOVE", "add", ""] {
        let v = with(object_event(), |m| drop(m.insert("action".into(), json!(bad))));
        assert_invalid(&v, "action", InvalidReason::NotAction);
    }
    assert_refused(&with(object_event(), |m| drop(m.remove("action"))), "MissingField", "action");
    assert_refused(&with(association_event(), |m| drop(m.remove("action"))), "MissingField", "action");
    // A TransformationEvent has no action.
    let v = with(transformation_event(), |m| drop(m.insert("action".into(), json!("ADD"))));
    assert_refused(&v, "UnknownField", "action");
}

#[test]
fn bad_biz_steps_are_refused() {
    let biz_step = |s: &str| with(object_event(), |m| drop(m.insert("bizStep".into(), json!(s))));
    let vocabulary = "bizStep";
    assert_invalid(&biz_step("shipping2"), "bizStep", InvalidReason::NotVocabulary { vocabulary });
    assert_invalid(
        &biz_step("urn:epcglobal:cbv:bizstep:shipping"),
        "bizStep",
        InvalidReason::ReservedNamespace { vocabulary },
    );
    assert_invalid(
        &biz_step("https://ns.gs1.org/cbv/BizStep-shipping"),
        "bizStep",
        InvalidReason::ReservedNamespace { vocabulary },
    );
    assert_invalid(
        &biz_step("https://ref.gs1.org/cbv/BizStep-teleporting"),
        "bizStep",
        InvalidReason::UnknownCbvTerm { vocabulary },
    );
    assert!(parse(&biz_step("https://example.com/bizstep/teleporting")).is_ok());
    let v = with(object_event(), |m| drop(m.insert("disposition".into(), json!("in transit"))));
    assert_invalid(&v, "disposition", InvalidReason::NotVocabulary { vocabulary: "disposition" });
}

#[test]
fn bad_quantities_are_refused() {
    let quantity = |q: Value| {
        with(object_event(), |m| {
            m.insert("quantityList".into(), json!([{"epcClass": "urn:epc:class:lgtin:4012345.011111.4444"}]));
            m["quantityList"][0].as_object_mut().unwrap().extend(q.as_object().unwrap().clone());
        })
    };
    assert!(parse(&quantity(json!({"quantity": 1.5, "uom": "KGM"}))).is_ok());
    assert!(parse(&quantity(json!({}))).is_ok());
    assert_refused(&quantity(json!({"quantity": "10"})), "WrongType", "quantityList[0].quantity");
    assert_invalid(
        &quantity(json!({"quantity": -1})),
        "quantityList[0].quantity",
        InvalidReason::NegativeQuantity,
    );
    assert_invalid(
        &quantity(json!({"quantity": 1, "uom": "kg"})),
        "quantityList[0].uom",
        InvalidReason::NotUom,
    );
    assert_invalid(
        &quantity(json!({"quantity": 1, "uom": "KGMS"})),
        "quantityList[0].uom",
        InvalidReason::NotUom,
    );
    // A quantity element has no extensions (additionalProperties: false).
    assert_refused(&quantity(json!({"example:note": "x"})), "UnknownField", "quantityList[0].example:note");
    let v = with(object_event(), |m| drop(m.insert("quantityList".into(), json!([{"quantity": 1}]))));
    assert_refused(&v, "MissingField", "quantityList[0].epcClass");
    // -0 is read as 0.
    let e = parse(&quantity(json!({"quantity": -0.0}))).unwrap();
    assert!(e.quantities[0].quantity.unwrap().is_sign_positive());
}

#[test]
fn fields_of_other_event_types_are_refused() {
    let v = with(object_event(), |m| {
        drop(m.insert("childEPCs".into(), json!(["urn:epc:id:sgtin:0614141.107346.1"])))
    });
    assert_refused(&v, "UnknownField", "childEPCs");
    let v = with(aggregation_event(), |m| drop(m.insert("ilmd".into(), json!({"example:lot": "1"}))));
    assert_refused(&v, "UnknownField", "ilmd");
    let v = with(transaction_event(), |m| drop(m.insert("inputEPCList".into(), json!([]))));
    assert_refused(&v, "UnknownField", "inputEPCList");
    let v = with(association_event(), |m| {
        drop(m.insert("persistentDisposition".into(), json!({"set": ["active"]})))
    });
    assert_refused(&v, "UnknownField", "persistentDisposition");
}

#[test]
fn extension_members_must_be_uris_and_are_kept() {
    let v = with(object_event(), |m| drop(m.insert("myField".into(), json!(1))));
    assert_refused(&v, "UnknownField", "myField");
    let v = with(object_event(), |m| drop(m.insert("id".into(), json!("urn:x:1"))));
    assert_refused(&v, "UnknownField", "id");
    let e = parse(&with(object_event(), |m| {
        m.insert("example:myField".into(), json!({"nested": [1, 2]}));
        m.insert("readPoint".into(), json!({"id": "urn:epc:id:sgln:0614141.07346.1234", "anything": 1}));
    }))
    .unwrap();
    assert_eq!(e.extensions["example:myField"]["nested"][1], 2);
    let v = with(transformation_event(), |m| drop(m.insert("ilmd".into(), json!({"lot": "1"}))));
    assert_refused(&v, "UnknownField", "ilmd.lot");
}

#[test]
fn events_that_name_no_object_are_refused() {
    let kind = |v: &Value| match refused(v) {
        EpcisError::MissingWhat { event_type, .. } => event_type,
        e => panic!("{e:?}"),
    };
    assert_eq!(kind(&with(object_event(), |m| drop(m.remove("epcList")))), EventKind::Object);
    // An empty epcList is enough for the schema; so is sensor data at a read point.
    assert!(parse(&with(object_event(), |m| drop(m.insert("epcList".into(), json!([]))))).is_ok());
    let sensed = with(object_event(), |m| {
        m.remove("epcList");
        m.insert(
            "sensorElementList".into(),
            json!([{"sensorReport": [{"type": "Temperature", "value": 4}]}]),
        );
    });
    assert_eq!(kind(&sensed), EventKind::Object);
    let at_read_point = with(sensed, |m| drop(m.insert("readPoint".into(), json!({"id": "geo:1,2"}))));
    assert!(parse(&at_read_point).is_ok());

    assert_eq!(kind(&with(aggregation_event(), |m| drop(m.remove("childEPCs")))), EventKind::Aggregation);
    let delete_all = with(aggregation_event(), |m| {
        m.remove("childEPCs");
        m.insert("action".into(), json!("DELETE"));
    });
    assert!(parse(&delete_all).is_ok());
    assert_eq!(kind(&with(transaction_event(), |m| drop(m.remove("epcList")))), EventKind::Transaction);
    assert_eq!(
        kind(&with(association_event(), |m| drop(m.insert("childEPCs".into(), json!([]))))),
        EventKind::Association
    );

    let only_inputs = with(transformation_event(), |m| drop(m.remove("outputQuantityList")));
    assert_eq!(kind(&only_inputs), EventKind::Transformation);
    let with_id = with(only_inputs, |m| {
        drop(m.insert("transformationID".into(), json!("urn:epc:id:gdti:0614141.12345.400")))
    });
    assert!(parse(&with_id).is_ok());
}

#[test]
fn ilmd_needs_action_add_on_an_object_event() {
    let v = with(object_event(), |m| drop(m.insert("ilmd".into(), json!({"example:lot": "1"}))));
    assert!(matches!(refused(&v), EpcisError::IlmdWithoutAdd { action: Action::Observe }));
    let v = with(v, |m| drop(m.insert("action".into(), json!("ADD"))));
    assert!(parse(&v).is_ok());
}

#[test]
fn parents_are_required_where_epcis_requires_them() {
    let v = with(aggregation_event(), |m| drop(m.remove("parentID")));
    assert!(matches!(refused(&v), EpcisError::MissingParent { action: Action::Add }));
    let observe = with(v, |m| drop(m.insert("action".into(), json!("OBSERVE"))));
    assert!(parse(&observe).is_ok());
    assert_refused(&with(association_event(), |m| drop(m.remove("parentID"))), "MissingField", "parentID");
}

#[test]
fn transaction_events_need_a_business_transaction() {
    assert_refused(
        &with(transaction_event(), |m| drop(m.remove("bizTransactionList"))),
        "MissingField",
        "bizTransactionList",
    );
    let v = with(transaction_event(), |m| drop(m.insert("bizTransactionList".into(), json!([]))));
    assert_invalid(&v, "bizTransactionList", InvalidReason::Empty);
    let v = with(transaction_event(), |m| {
        m["bizTransactionList"][0].as_object_mut().unwrap().insert("example:x".into(), json!(1));
    });
    assert_refused(&v, "UnknownField", "bizTransactionList[0].example:x");
    let v =
        with(transaction_event(), |m| drop(m.insert("bizTransactionList".into(), json!([{"type": "po"}]))));
    assert_refused(&v, "MissingField", "bizTransactionList[0].bizTransaction");
}

#[test]
fn bad_identifiers_are_refused() {
    let epcs = |list: Value| with(object_event(), |m| drop(m.insert("epcList".into(), list)));
    let v = epcs(json!(["urn:epc:id:sgtin:0614141.107346.1", "https://id.gs1.org/01/10614141073464/21/1"]));
    assert_invalid(&v, "epcList[1]", InvalidReason::Duplicate { first: 0 });
    let v = epcs(json!(["urn:epc:id:sgtin:0614141.10734.1"]));
    assert!(
        matches!(refused(&v), EpcisError::InvalidField { ref field, reason: InvalidReason::Identifier(_) } if field == "epcList[0]")
    );
    assert_invalid(&epcs(json!(["not a uri"])), "epcList[0]", InvalidReason::NotUri);
    assert_refused(&epcs(json!("urn:epc:id:sgtin:0614141.107346.1")), "WrongType", "epcList");
    let v = epcs(json!(["urn:epc:class:lgtin:4012345.011111.4444"]));
    assert_invalid(&v, "epcList[0]", InvalidReason::ClassWhereInstanceExpected);
    let v = with(object_event(), |m| {
        m.insert(
            "quantityList".into(),
            json!([{"epcClass": "urn:epc:id:sgtin:0614141.107346.1", "quantity": 1}]),
        );
    });
    assert_invalid(&v, "quantityList[0].epcClass", InvalidReason::InstanceWhereClassExpected);
    // Identifiers in schemes this module does not read are kept verbatim.
    assert!(parse(&epcs(json!(["urn:epc:id:gid:95100000.12345.400"]))).is_ok());
}

#[test]
fn bad_sources_and_locations_are_refused() {
    let v = with(object_event(), |m| {
        drop(m.insert("sourceList".into(), json!([{"source": "urn:epc:id:pgln:0614141.00001"}])))
    });
    assert_refused(&v, "MissingField", "sourceList[0].type");
    let v = with(object_event(), |m| {
        m.insert(
            "destinationList".into(),
            json!([{"type": "owner", "destination": "urn:epc:id:pgln:0614141.00001"}]),
        );
    });
    assert_invalid(
        &v,
        "destinationList[0].type",
        InvalidReason::NotVocabulary { vocabulary: "source/destination type" },
    );
    let v = with(object_event(), |m| drop(m.insert("readPoint".into(), json!({}))));
    assert_refused(&v, "MissingField", "readPoint.id");
    let v = with(object_event(), |m| {
        drop(m.insert("bizLocation".into(), json!("urn:epc:id:sgln:0614141.07346.0")))
    });
    assert_refused(&v, "WrongType", "bizLocation");
}

#[test]
fn bad_sensor_data_is_refused() {
    let report = |r: Value| {
        with(object_event(), |m| drop(m.insert("sensorElementList".into(), json!([{"sensorReport": [r]}]))))
    };
    assert!(parse(&report(json!({"type": "Temperature", "value": -3.5, "uom": "CEL"}))).is_ok());
    assert_refused(&report(json!({"value": 1})), "MissingField", "sensorElementList[0].sensorReport[0].type");
    assert_invalid(
        &report(json!({"type": "Heat"})),
        "sensorElementList[0].sensorReport[0].type",
        InvalidReason::NotVocabulary { vocabulary: "measurement type" },
    );
    assert_invalid(
        &report(json!({"type": "https://gs1.org/voc/MT-Temperature"})),
        "sensorElementList[0].sensorReport[0].type",
        InvalidReason::ReservedNamespace { vocabulary: "measurement type" },
    );
    assert_refused(
        &report(json!({"type": "Mass", "value": "1"})),
        "WrongType",
        "sensorElementList[0].sensorReport[0].value",
    );
    assert_invalid(
        &report(json!({"type": "Mass", "hexBinaryValue": "0xF0"})),
        "sensorElementList[0].sensorReport[0].hexBinaryValue",
        InvalidReason::NotHexBinary,
    );
    assert_refused(
        &report(json!({"type": "Mass", "booleanValue": "true"})),
        "WrongType",
        "sensorElementList[0].sensorReport[0].booleanValue",
    );
    assert_refused(
        &report(json!({"type": "Mass", "note": "x"})),
        "UnknownField",
        "sensorElementList[0].sensorReport[0].note",
    );
    let v =
        with(object_event(), |m| drop(m.insert("sensorElementList".into(), json!([{"sensorReport": []}]))));
    assert_invalid(&v, "sensorElementList[0].sensorReport", InvalidReason::Empty);
    let v = with(object_event(), |m| {
        m.insert(
            "sensorElementList".into(),
            json!([{"sensorMetadata": {"startTime": "noon"}, "sensorReport": [{"type": "Mass"}]}]),
        );
    });
    assert_invalid(&v, "sensorElementList[0].sensorMetadata.startTime", InvalidReason::NotDateTime);
}

#[test]
fn bad_error_declarations_are_refused() {
    let declaration = |d: Value| with(object_event(), |m| drop(m.insert("errorDeclaration".into(), d)));
    assert!(parse(&declaration(json!({"declarationTime": "2024-05-02T00:00:00Z"}))).is_ok());
    assert_refused(
        &declaration(json!({"reason": "did_not_occur"})),
        "MissingField",
        "errorDeclaration.declarationTime",
    );
    assert_invalid(
        &declaration(
            json!({"declarationTime": "2024-05-02T00:00:00Z", "reason": "urn:epcglobal:cbv:er:did_not_occur"}),
        ),
        "errorDeclaration.reason",
        InvalidReason::ReservedNamespace { vocabulary: "error reason" },
    );
    assert_invalid(
        &declaration(json!({"declarationTime": "2024-05-02T00:00:00Z", "correctiveEventIDs": ["event 2"]})),
        "errorDeclaration.correctiveEventIDs[0]",
        InvalidReason::NotUri,
    );
    assert_refused(
        &declaration(json!({"declarationTime": "2024-05-02T00:00:00Z", "note": "x"})),
        "UnknownField",
        "errorDeclaration.note",
    );
}

#[test]
fn bad_persistent_dispositions_are_refused() {
    let pd = |d: Value| with(object_event(), |m| drop(m.insert("persistentDisposition".into(), d)));
    assert_invalid(&pd(json!({})), "persistentDisposition", InvalidReason::NoSetOrUnset);
    assert_invalid(&pd(json!({"set": []})), "persistentDisposition.set", InvalidReason::Empty);
    assert_invalid(
        &pd(json!({"set": ["recalled", "https://ref.gs1.org/cbv/Disp-recalled"]})),
        "persistentDisposition.set[1]",
        InvalidReason::Duplicate { first: 0 },
    );
    assert_refused(
        &pd(json!({"set": ["active"], "example:x": 1})),
        "UnknownField",
        "persistentDisposition.example:x",
    );
}

#[test]
fn bad_common_fields_are_refused() {
    let v = with(object_event(), |m| drop(m.insert("eventID".into(), json!("event 1"))));
    assert_invalid(&v, "eventID", InvalidReason::NotUri);
    let v = with(object_event(), |m| drop(m.insert("certificationInfo".into(), json!(5))));
    assert_refused(&v, "WrongType", "certificationInfo");
    let v = with(object_event(), |m| {
        drop(m.insert("certificationInfo".into(), json!(["https://c.example/1", "c 2"])))
    });
    assert_invalid(&v, "certificationInfo[1]", InvalidReason::NotUri);
    let v = with(object_event(), |m| {
        drop(m.insert("@context".into(), json!([CONTEXT, {"a": "b:"}, {"a": "b:"}])))
    });
    assert_invalid(&v, "@context[2]", InvalidReason::Duplicate { first: 1 });
    let v = with(object_event(), |m| drop(m.insert("@context".into(), json!([CONTEXT, 4]))));
    assert_refused(&v, "WrongType", "@context[1]");
}

#[test]
fn non_events_are_refused() {
    assert_refused(&json!([object_event()]), "WrongType", "(root)");
    assert!(matches!(refused(&with(object_event(), |m| drop(m.insert("type".into(), json!("ex:MyEvent"))))),
        EpcisError::UnsupportedEventType { ref found } if found == "ex:MyEvent"));
    assert!(matches!(refused(&json!({"type": "EPCISDocument"})), EpcisError::DocumentGiven { .. }));
    assert_refused(&with(object_event(), |m| drop(m.insert("type".into(), json!(1)))), "WrongType", "type");
}

#[test]
fn hostile_sizes_are_refused_before_parsing() {
    let huge = vec![b' '; MAX_EVENT_BYTES + 1];
    assert!(matches!(parse_event(&huge), Err(EpcisError::TooLarge { .. })));
    let mut deep = Value::from(1);
    for _ in 0..MAX_DEPTH {
        deep = json!({"example:x": deep});
    }
    let v = with(object_event(), |m| drop(m.insert("example:deep".into(), deep)));
    assert!(matches!(refused(&v), EpcisError::TooDeep { max: MAX_DEPTH, .. }));
    let many: Vec<u8> = vec![0; MAX_ITEMS + 1];
    let v = with(object_event(), |m| drop(m.insert("example:many".into(), json!(many))));
    assert_refused(&v, "TooManyItems", "example:many");
    assert!(matches!(parse_event(b"{\"type\": \"ObjectEvent\""), Err(EpcisError::Syntax { .. })));
    assert!(matches!(parse_event(b"{} x"), Err(EpcisError::Syntax { .. })));
}

#[test]
fn parsing_is_a_function_of_the_bytes() {
    let bytes = serde_json::to_vec(&with(object_event(), |m| {
        m.insert(
            "quantityList".into(),
            json!([{"epcClass": "urn:epc:class:lgtin:4012345.011111.4444",
            "quantity": 0.1}]),
        );
    }))
    .unwrap();
    // 0.1 is the binary64 nearest to 1/10, as every correct parser reads it.
    let a = parse_event(&bytes).unwrap();
    assert_eq!(a.quantities[0].quantity.map(f64::to_bits), Some(0x3FB9_9999_9999_999A));
    let text = br#"{"@context":"a:b","type":"ObjectEvent","eventTime":"2024-05-01T10:00:00Z",
        "eventTimeZoneOffset":"+00:00","action":"ADD","epcList":[],
        "quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.011111.4444","quantity":1.00000000000000011102230246251565404236316680908203126}]}"#;
    let q = parse_event(text).unwrap().quantities[0].quantity.unwrap();
    assert_eq!(q.to_bits(), 0x3FF0_0000_0000_0001, "correctly rounded, not truncated");
    assert_eq!(parse_event(&bytes).unwrap(), a);
}

#[test]
fn documents_are_checked_and_events_named_by_index() {
    let doc = |events: Value| {
        serde_json::to_vec(&json!({
            "@context": CONTEXT, "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2024-05-01T10:00:00Z", "epcisBody": {"eventList": events}
        }))
        .unwrap()
    };
    let mut bad = object_event();
    bad.as_object_mut().unwrap().remove("@context");
    bad.as_object_mut().unwrap().remove("eventTime");
    let err = split_document(&doc(json!([object_event(), bad]))).unwrap_err();
    match err {
        EpcisError::DocumentEvent { index: 1, source } => {
            assert_eq!(summary(&source), ("MissingField".to_owned(), "eventTime".to_owned()));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(split_document(&doc(json!([]))).unwrap().len(), 0);
    assert!(matches!(split_document(&serde_json::to_vec(&object_event()).unwrap()),
        Err(EpcisError::NotADocument { ref found }) if found == "ObjectEvent"));
    let mut no_version: Value = serde_json::from_slice(&doc(json!([]))).unwrap();
    no_version.as_object_mut().unwrap().remove("schemaVersion");
    let err = split_document(&serde_json::to_vec(&no_version).unwrap()).unwrap_err();
    assert_eq!(summary(&err), ("MissingField".to_owned(), "schemaVersion".to_owned()));
    let mut bad_version = no_version;
    bad_version["schemaVersion"] = json!("v2");
    let err = split_document(&serde_json::to_vec(&bad_version).unwrap()).unwrap_err();
    assert!(matches!(err, EpcisError::InvalidField { reason: InvalidReason::NotVersion, .. }));
}
