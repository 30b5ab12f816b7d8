//! A SAM/CloudFormation template as data: what the infrastructure tests check and what the
//! local system routes by (crates `infra-tests` and `local`).
//!
//! The YAML is parsed with `serde_norway` (the maintained fork of `serde_yaml`, which keeps
//! CloudFormation's short-form tags as [`serde_norway::Value::Tagged`]) and turned into JSON
//! with every intrinsic in its long form (`!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` →
//! `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` → `{"Fn::Sub": s}`, ...), so readers see one shape
//! whichever form the template uses.
//!
//! [`Template::parse`] checks up front what the accessors rely on (a `Resources` map, every
//! function's build binary, every EventBridge pattern a literal object), so a template a user
//! hands the local system is refused with a message instead of a panic later.

use serde_json::{Map, Value, json};
use std::path::Path;

/// Why a template cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not YAML: {0}")]
    Yaml(String),
    #[error("{0}")]
    Invalid(String),
}

/// The parsed template, intrinsics in long form.
pub struct Template {
    pub root: Value,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl Template {
    /// Reads and parses the template at `path`.
    pub fn read(path: &Path) -> Result<Self, TemplateError> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Self, TemplateError> {
        let yaml: serde_norway::Value =
            serde_norway::from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
        let template = Self {
            root: yaml_to_json(&yaml)?,
        };
        template.check()?;
        Ok(template)
    }

    /// What the accessors below take for granted.
    fn check(&self) -> Result<(), TemplateError> {
        if !self.root["Resources"].is_object() {
            return Err(TemplateError::Invalid("no Resources map".into()));
        }
        for f in self.functions() {
            if f.body["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .is_none()
            {
                return Err(TemplateError::Invalid(format!(
                    "{}: no Metadata.BuildProperties.Binary",
                    f.id
                )));
            }
            for (name, props) in f.events_of_type("EventBridgeRule") {
                let pattern = &props["Pattern"];
                if !pattern.is_object() || contains_intrinsic(pattern) {
                    return Err(TemplateError::Invalid(format!(
                        "{}.{name}: Pattern must be a literal object",
                        f.id
                    )));
                }
            }
        }
        for (id, rule) in self.of_type("AWS::Events::Rule") {
            let pattern = &rule["Properties"]["EventPattern"];
            if !pattern.is_object() || contains_intrinsic(pattern) {
                return Err(TemplateError::Invalid(format!(
                    "{id}: EventPattern must be a literal object"
                )));
            }
        }
        Ok(())
    }

    pub fn resources(&self) -> &Map<String, Value> {
        self.root["Resources"].as_object().unwrap_or(&EMPTY)
    }

    /// The resource with that logical id; panics if absent (a test's convenience: code that
    /// reads a user's template uses [`Template::resources`]).
    pub fn resource(&self, logical_id: &str) -> &Value {
        self.resources()
            .get(logical_id)
            .unwrap_or_else(|| panic!("no resource {logical_id} in the template"))
    }

    /// Logical ids and bodies of the resources of one type, in template order.
    pub fn of_type(&self, resource_type: &str) -> Vec<(&str, &Value)> {
        self.resources()
            .iter()
            .filter(|(_, r)| r["Type"] == resource_type)
            .map(|(id, r)| (id.as_str(), r))
            .collect()
    }

    /// The type of the resource `logical_id`, if it exists.
    pub fn type_of(&self, logical_id: &str) -> Option<&str> {
        self.resources().get(logical_id)?["Type"].as_str()
    }

    pub fn parameters(&self) -> &Map<String, Value> {
        self.root["Parameters"].as_object().unwrap_or(&EMPTY)
    }

    /// The `AWS::Serverless::Function` resources.
    pub fn functions(&self) -> Vec<Function<'_>> {
        self.of_type("AWS::Serverless::Function")
            .into_iter()
            .map(|(id, body)| Function { id, body })
            .collect()
    }

    /// Every EventBridge rule that leads to a function: each SAM `EventBridgeRule` event (the
    /// rule invokes the function asynchronously), and each `AWS::Events::Rule` whose target is
    /// a queue a function reads through an `SQS` event (the rule fills the queue).
    pub fn eventbridge_rules(&self) -> Vec<Rule<'_>> {
        let functions = self.functions();
        let mut rules: Vec<Rule<'_>> = functions
            .iter()
            .flat_map(|f| {
                f.events_of_type("EventBridgeRule")
                    .into_iter()
                    .map(move |(name, props)| Rule {
                        function: f.id,
                        binary: f.binary(),
                        event_name: name,
                        props,
                        via_queue: None,
                    })
            })
            .collect();
        for (rule_id, rule) in self.of_type("AWS::Events::Rule") {
            let props = &rule["Properties"];
            for target in as_list(&props["Targets"]) {
                let Some(queue) = referenced_id(&target["Arn"]) else {
                    continue;
                };
                if self.type_of(queue) != Some("AWS::SQS::Queue") {
                    continue;
                }
                for f in &functions {
                    let reads = f
                        .events_of_type("SQS")
                        .iter()
                        .any(|(_, e)| referenced_id(&e["Queue"]) == Some(queue));
                    if reads {
                        rules.push(Rule {
                            function: f.id,
                            binary: f.binary(),
                            event_name: rule_id,
                            props,
                            via_queue: Some(queue),
                        });
                    }
                }
            }
        }
        rules
    }
}

/// One `AWS::Serverless::Function`.
#[derive(Clone, Copy)]
pub struct Function<'a> {
    pub id: &'a str,
    pub body: &'a Value,
}

impl<'a> Function<'a> {
    pub fn props(&self) -> &'a Value {
        &self.body["Properties"]
    }

    /// `Metadata.BuildProperties.Binary`: the cargo binary SAM builds for it (checked by
    /// [`Template::parse`]).
    pub fn binary(&self) -> &'a str {
        self.body["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_default()
    }

    /// `(event name, event Properties)` of its events of one SAM type.
    pub fn events_of_type(&self, event_type: &str) -> Vec<(&'a str, &'a Value)> {
        self.props()["Events"]
            .as_object()
            .map(|events| {
                events
                    .iter()
                    .filter(|(_, e)| e["Type"] == event_type)
                    .map(|(name, e)| (name.as_str(), &e["Properties"]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The IAM statements of its inline `Policies` documents; both branches of an `Fn::If`
    /// count, `AWS::NoValue` drops out. Panics on a policy that is not an inline document
    /// (SAM policy template or managed policy name), whose statements a test could not see.
    pub fn policy_statements(&self) -> Vec<&'a Value> {
        let Some(policies) = self.props().get("Policies") else {
            return Vec::new();
        };
        let docs: Vec<&Value> = match policies {
            Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        docs.into_iter()
            .flat_map(expand_if)
            .flat_map(|doc| {
                assert!(
                    doc.get("Statement").is_some(),
                    "{}: every entry of Policies must be an inline policy document, got {doc}",
                    self.id
                );
                statements(doc)
            })
            .collect()
    }
}

/// One EventBridge rule and the function it leads to (see [`Template::eventbridge_rules`]).
pub struct Rule<'a> {
    pub function: &'a str,
    pub binary: &'a str,
    /// The SAM event's name, or the `AWS::Events::Rule`'s logical id.
    pub event_name: &'a str,
    /// The SAM event's `Properties`, or the `AWS::Events::Rule`'s.
    pub props: &'a Value,
    /// The queue between the rule and the function (logical id), when there is one.
    pub via_queue: Option<&'a str>,
}

impl Rule<'_> {
    /// The pattern as EventBridge receives it: a literal object ([`Template::parse`] refuses
    /// anything else).
    pub fn pattern(&self) -> &Value {
        match self.via_queue {
            Some(_) => &self.props["EventPattern"],
            None => &self.props["Pattern"],
        }
    }

    /// `EventBusName` (absent: the default bus).
    pub fn bus(&self) -> &Value {
        &self.props["EventBusName"]
    }

    /// The rule's name as written (`RuleName` of a SAM event, `Name` of a rule resource).
    pub fn name(&self) -> &Value {
        match self.via_queue {
            Some(_) => &self.props["Name"],
            None => &self.props["RuleName"],
        }
    }

    /// Where the rule's own delivery failures go, and how long it retries: the SAM event's
    /// fields, or those of the rule resource's target.
    pub fn target_settings(&self) -> &Value {
        match self.via_queue {
            Some(queue) => as_list(&self.props["Targets"])
                .into_iter()
                .find(|t| referenced_id(&t["Arn"]) == Some(queue))
                .unwrap_or(&Value::Null),
            None => self.props,
        }
    }
}

/// The statements of a policy document (`Statement` may be one object or a list); `Fn::If`
/// entries give both branches, `AWS::NoValue` none.
pub fn statements(doc: &Value) -> Vec<&Value> {
    match &doc["Statement"] {
        Value::Array(list) => list.iter().flat_map(expand_if).collect(),
        other => expand_if(other),
    }
}

/// `{"Fn::If": [cond, a, b]}` → the branches that are not `AWS::NoValue`; anything else → itself.
pub fn expand_if(v: &Value) -> Vec<&Value> {
    match v.get("Fn::If").and_then(Value::as_array) {
        Some(args) if args.len() == 3 => args[1..]
            .iter()
            .flat_map(expand_if)
            .filter(|b| **b != json!({"Ref": "AWS::NoValue"}))
            .collect(),
        _ => vec![v],
    }
}

/// A string or list-of-strings field (`Action`, `Resource`) as a list of values.
pub fn as_list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(list) => list.iter().collect(),
        other => vec![other],
    }
}

/// Whether a value holds a CloudFormation intrinsic anywhere.
pub fn contains_intrinsic(v: &Value) -> bool {
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == "Ref" || k.starts_with("Fn::") || contains_intrinsic(v)),
        Value::Array(list) => list.iter().any(contains_intrinsic),
        _ => false,
    }
}

/// `{"Ref": "X"}`.
pub fn ref_to(logical_id: &str) -> Value {
    json!({ "Ref": logical_id })
}

/// `{"Fn::GetAtt": ["X", "attr"]}`.
pub fn get_att(logical_id: &str, attribute: &str) -> Value {
    json!({ "Fn::GetAtt": [logical_id, attribute] })
}

/// The logical id a `{"Ref": X}` or `{"Fn::GetAtt": [X, ...]}` names.
pub fn referenced_id(v: &Value) -> Option<&str> {
    v.get("Ref")
        .and_then(Value::as_str)
        .or_else(|| v.get("Fn::GetAtt")?.get(0)?.as_str())
}

/// YAML (with CloudFormation tags) → JSON with long-form intrinsics.
pub fn yaml_to_json(v: &serde_norway::Value) -> Result<Value, TemplateError> {
    use serde_norway::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(u) = n.as_u64() {
                json!(u)
            } else {
                json!(n.as_f64())
            }
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Sequence(items) => {
            Value::Array(items.iter().map(yaml_to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(map) => {
            let mut object = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s.clone(),
                    other => serde_norway::to_string(other)
                        .map_err(|e| TemplateError::Yaml(e.to_string()))?
                        .trim()
                        .to_owned(),
                };
                object.insert(key, yaml_to_json(v)?);
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = yaml_to_json(&tagged.value)?;
            match name {
                "Ref" | "Condition" => json!({ name: inner }),
                // `!GetAtt A.B` (string form) → ["A", "B"]; the list form stays a list.
                "GetAtt" => match inner {
                    Value::String(s) => {
                        let (id, attr) = s.split_once('.').ok_or_else(|| {
                            TemplateError::Invalid(format!(
                                "!GetAtt {s}: expected Resource.Attribute"
                            ))
                        })?;
                        json!({ "Fn::GetAtt": [id, attr] })
                    }
                    other => json!({ "Fn::GetAtt": other }),
                },
                other => json!({ format!("Fn::{other}"): inner }),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_tags_become_long_form_intrinsics() {
        let t = Template::parse(
            "Resources:\n  A:\n    Type: X\n    Properties:\n      R: !Ref P\n      G: !GetAtt B.Arn\n      S: !Sub '${AWS::StackName}-x'\n      I: !If [C, !Ref P, !Ref AWS::NoValue]\n",
        )
        .unwrap();
        let p = &t.resource("A")["Properties"];
        assert_eq!(p["R"], ref_to("P"));
        assert_eq!(p["G"], get_att("B", "Arn"));
        assert_eq!(p["S"], json!({"Fn::Sub": "${AWS::StackName}-x"}));
        assert_eq!(expand_if(&p["I"]), vec![&ref_to("P")]);
        assert_eq!(referenced_id(&p["G"]), Some("B"));
    }
}

#[cfg(test)]
mod refusals {
    use super::*;

    fn refused(text: &str) -> String {
        match Template::parse(text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_template_the_accessors_cannot_read_is_an_error_not_a_panic() {
        assert!(refused("Resources: [").starts_with("not YAML"));
        assert_eq!(refused("Parameters: {}\n"), "no Resources map");
        assert_eq!(
            refused("Resources:\n  F:\n    Type: AWS::Serverless::Function\n"),
            "F: no Metadata.BuildProperties.Binary"
        );
        assert_eq!(
            refused(
                "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Metadata: {BuildProperties: {Binary: f}}\n    Properties:\n      Events:\n        E: {Type: EventBridgeRule, Properties: {Pattern: !Ref P}}\n"
            ),
            "F.E: Pattern must be a literal object"
        );
        assert_eq!(
            refused("Resources:\n  A:\n    Type: X\n    Properties: {G: !GetAtt NoDot}\n"),
            "!GetAtt NoDot: expected Resource.Attribute"
        );
    }
}
