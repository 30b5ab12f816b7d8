//! A DynamoDB-compatible table store on the local AWS endpoint, so send-email's dedupe record
//! (claim, complete, release) runs locally with the same code and the same conditional-write
//! semantics as in production: a replayed log sends nothing twice here too.
//!
//! It speaks the real protocol (AWS JSON 1.0, `X-Amz-Target: DynamoDB_20120810.<Op>`) for
//! `PutItem`, `GetItem`, `UpdateItem` and `DeleteItem` on tables created at start-up, with
//! condition expressions built from `attribute_exists` / `attribute_not_exists`, comparisons
//! (`= <> < <= > >=`), `AND`, `OR`, `NOT` and parentheses, and update expressions with `SET`
//! and `REMOVE`. Anything else is refused with a `ValidationException` that says so, never
//! silently misread. Items live in memory for the life of the local system.

use serde_json::{Map, Value, json};
use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

/// The dedupe table the local send-email uses (`DEDUPE_TABLE_NAME`).
pub const DEDUPE_TABLE: &str = "local-dedupe";
const DEDUPE_KEY: &str = "dedupe_key";

pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

type Item = Map<String, Value>;

/// A refused request: HTTP status, the error's short name and its message.
#[derive(Debug, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub kind: &'static str,
    pub message: String,
}

impl Refusal {
    fn validation(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            kind: "ValidationException",
            message: message.into(),
        }
    }

    /// The body the SDK reads the error code from.
    pub fn body(&self) -> Value {
        json!({
            "__type": format!("com.amazonaws.dynamodb.v20120810#{}", self.kind),
            "message": self.message,
        })
    }
}

fn condition_failed() -> Refusal {
    Refusal {
        status: 400,
        kind: "ConditionalCheckFailedException",
        message: "The conditional request failed".into(),
    }
}

struct Table {
    key: String,
    items: BTreeMap<String, Item>,
}

/// The tables, keyed by name.
pub struct Tables {
    tables: Mutex<HashMap<String, Table>>,
}

impl Default for Tables {
    /// The tables the template's functions use locally: the send-email dedupe table.
    fn default() -> Self {
        let tables = Self {
            tables: Mutex::default(),
        };
        tables.create(DEDUPE_TABLE, DEDUPE_KEY);
        tables
    }
}

impl Tables {
    /// A table with a string partition key `key`.
    pub fn create(&self, name: &str, key: &str) {
        if let Ok(mut tables) = self.tables.lock() {
            tables.insert(
                name.to_owned(),
                Table {
                    key: key.to_owned(),
                    items: BTreeMap::new(),
                },
            );
        }
    }

    /// Number of items in a table (for tests and people).
    pub fn len(&self, name: &str) -> usize {
        self.tables
            .lock()
            .ok()
            .and_then(|t| t.get(name).map(|t| t.items.len()))
            .unwrap_or(0)
    }

    pub fn is_empty(&self, name: &str) -> bool {
        self.len(name) == 0
    }

    /// One operation: `op` is the part of `X-Amz-Target` after the prefix.
    pub fn call(&self, op: &str, body: &[u8]) -> Result<Value, Refusal> {
        let request: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|_| Refusal::validation("the request body is not a JSON object"))?;
        let mut tables = self
            .tables
            .lock()
            .map_err(|_| Refusal::validation("the local table store is unavailable"))?;
        let name = request
            .get("TableName")
            .and_then(Value::as_str)
            .ok_or_else(|| Refusal::validation("TableName is required"))?;
        let table = tables.get_mut(name).ok_or(Refusal {
            status: 400,
            kind: "ResourceNotFoundException",
            message: "Requested resource not found".into(),
        })?;
        let expr = Expressions::of(&request);
        match op {
            "PutItem" => {
                let item = object(&request, "Item")?;
                let key = key_of(table, item)?;
                expr.check(table.items.get(&key))?;
                table.items.insert(key, item.clone());
                Ok(json!({}))
            }
            "GetItem" => {
                let key = key_of(table, object(&request, "Key")?)?;
                Ok(match table.items.get(&key) {
                    Some(item) => json!({ "Item": item }),
                    None => json!({}),
                })
            }
            "UpdateItem" => {
                let key_item = object(&request, "Key")?;
                let key = key_of(table, key_item)?;
                expr.check(table.items.get(&key))?;
                let update = request
                    .get("UpdateExpression")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Refusal::validation("UpdateExpression is required"))?;
                // An update of an absent item creates it from its key, as DynamoDB does.
                let mut item = table
                    .items
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| key_item.clone());
                expr.apply(update, &mut item)?;
                table.items.insert(key, item);
                Ok(json!({}))
            }
            "DeleteItem" => {
                let key = key_of(table, object(&request, "Key")?)?;
                expr.check(table.items.get(&key))?;
                table.items.remove(&key);
                Ok(json!({}))
            }
            other => Err(Refusal {
                status: 400,
                kind: "UnknownOperationException",
                message: format!(
                    "the local DynamoDB endpoint supports PutItem, GetItem, UpdateItem and DeleteItem, not {}",
                    safe(other)
                ),
            }),
        }
    }
}

/// A bounded, printable form of a caller-supplied name for an error message.
fn safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(40)
        .collect()
}

fn object<'a>(request: &'a Map<String, Value>, field: &str) -> Result<&'a Item, Refusal> {
    request
        .get(field)
        .and_then(Value::as_object)
        .ok_or_else(|| Refusal::validation(format!("{field} is required")))
}

fn key_of(table: &Table, item: &Item) -> Result<String, Refusal> {
    item.get(&table.key)
        .and_then(|v| v.get("S"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Refusal::validation("the item has no string value for the table's key"))
}

/// A request's `ConditionExpression` and its placeholders.
struct Expressions<'a> {
    condition: Option<&'a str>,
    names: Option<&'a Map<String, Value>>,
    values: Option<&'a Map<String, Value>>,
}

impl<'a> Expressions<'a> {
    fn of(request: &'a Map<String, Value>) -> Self {
        Self {
            condition: request.get("ConditionExpression").and_then(Value::as_str),
            names: request
                .get("ExpressionAttributeNames")
                .and_then(Value::as_object),
            values: request
                .get("ExpressionAttributeValues")
                .and_then(Value::as_object),
        }
    }

    fn check(&self, item: Option<&Item>) -> Result<(), Refusal> {
        let Some(condition) = self.condition else {
            return Ok(());
        };
        let empty = Item::new();
        let mut parser = Parser::new(condition, self)?;
        let holds = parser.or(item.unwrap_or(&empty))?;
        parser.end()?;
        if holds {
            Ok(())
        } else {
            Err(condition_failed())
        }
    }

    /// `SET a = :v, b = :w REMOVE c, d` (clauses in any order).
    fn apply(&self, update: &str, item: &mut Item) -> Result<(), Refusal> {
        let tokens = tokenize(update)?;
        let mut i = 0;
        while i < tokens.len() {
            let clause = tokens[i].to_ascii_uppercase();
            i += 1;
            loop {
                let path = self.name(tokens.get(i).map(String::as_str))?;
                i += 1;
                match clause.as_str() {
                    "SET" => {
                        if tokens.get(i).map(String::as_str) != Some("=") {
                            return Err(Refusal::validation(
                                "the local DynamoDB endpoint supports SET path = :value only",
                            ));
                        }
                        let value = self.value(tokens.get(i + 1).map(String::as_str))?;
                        item.insert(path, value.clone());
                        i += 2;
                    }
                    "REMOVE" => {
                        item.remove(&path);
                    }
                    _ => {
                        return Err(Refusal::validation(
                            "the local DynamoDB endpoint supports SET and REMOVE clauses only",
                        ));
                    }
                }
                if tokens.get(i).map(String::as_str) == Some(",") {
                    i += 1;
                } else {
                    break;
                }
            }
        }
        Ok(())
    }

    /// An attribute name, through `#placeholder` when it is one.
    fn name(&self, token: Option<&str>) -> Result<String, Refusal> {
        match token {
            Some(t) if t.starts_with('#') => self
                .names
                .and_then(|n| n.get(t))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| Refusal::validation("an expression attribute name is not defined")),
            Some(t)
                if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !t.is_empty() =>
            {
                Ok(t.to_owned())
            }
            _ => Err(Refusal::validation("expected an attribute name")),
        }
    }

    fn value(&self, token: Option<&str>) -> Result<&'a Value, Refusal> {
        match token {
            Some(t) if t.starts_with(':') => self
                .values
                .and_then(|v| v.get(t))
                .ok_or_else(|| Refusal::validation("an expression attribute value is not defined")),
            _ => Err(Refusal::validation("expected a :value")),
        }
    }
}

fn tokenize(expression: &str) -> Result<Vec<String>, Refusal> {
    let mut tokens = Vec::new();
    let mut chars = expression.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if "(),=".contains(c) {
            tokens.push(c.to_string());
            chars.next();
        } else if c == '<' || c == '>' {
            chars.next();
            let mut op = c.to_string();
            if let Some(&next) = chars.peek()
                && (next == '=' || (c == '<' && next == '>'))
            {
                op.push(next);
                chars.next();
            }
            tokens.push(op);
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '#' || c == ':' {
            let mut word = String::new();
            while let Some(&w) = chars.peek() {
                if w.is_ascii_alphanumeric() || w == '_' || w == '#' || w == ':' {
                    word.push(w);
                    chars.next();
                } else {
                    break;
                }
            }
            tokens.push(word);
        } else {
            return Err(Refusal::validation(
                "the local DynamoDB endpoint cannot read this expression",
            ));
        }
    }
    Ok(tokens)
}

/// Recursive descent over a condition: `or := and (OR and)*`, `and := not (AND not)*`,
/// `not := NOT not | ( or ) | function(path) | operand comparator operand`.
struct Parser<'e, 'a> {
    tokens: Vec<String>,
    at: usize,
    expr: &'e Expressions<'a>,
}

/// A comparison's side: an attribute of the item (maybe absent) or a `:value`.
enum Operand<'v> {
    Attribute(Option<&'v Value>),
    Literal(&'v Value),
}

impl<'e, 'a> Parser<'e, 'a> {
    fn new(condition: &str, expr: &'e Expressions<'a>) -> Result<Self, Refusal> {
        Ok(Self {
            tokens: tokenize(condition)?,
            at: 0,
            expr,
        })
    }

    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.at).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn consume(&mut self, want: &str) -> Result<(), Refusal> {
        if self.next().as_deref() == Some(want) {
            Ok(())
        } else {
            Err(Refusal::validation(format!(
                "expected '{want}' in the condition expression"
            )))
        }
    }

    fn end(&self) -> Result<(), Refusal> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Refusal::validation(
                "the local DynamoDB endpoint cannot read this condition expression",
            )),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        self.peek().is_some_and(|t| t.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, item: &Item) -> Result<bool, Refusal> {
        let mut holds = self.and(item)?;
        while self.keyword("OR") {
            self.at += 1;
            // Both sides are parsed (to reject bad syntax) before combining.
            let right = self.and(item)?;
            holds = holds || right;
        }
        Ok(holds)
    }

    fn and(&mut self, item: &Item) -> Result<bool, Refusal> {
        let mut holds = self.not(item)?;
        while self.keyword("AND") {
            self.at += 1;
            let right = self.not(item)?;
            holds = holds && right;
        }
        Ok(holds)
    }

    fn not(&mut self, item: &Item) -> Result<bool, Refusal> {
        if self.keyword("NOT") {
            self.at += 1;
            return Ok(!self.not(item)?);
        }
        if self.peek() == Some("(") {
            self.at += 1;
            let holds = self.or(item)?;
            self.consume(")")?;
            return Ok(holds);
        }
        if let Some(function) = self
            .peek()
            .filter(|t| *t == "attribute_exists" || *t == "attribute_not_exists")
            .map(str::to_owned)
        {
            self.at += 1;
            self.consume("(")?;
            let name = self.expr.name(self.next().as_deref())?;
            self.consume(")")?;
            let exists = item.contains_key(&name);
            return Ok(if function == "attribute_exists" {
                exists
            } else {
                !exists
            });
        }
        let left = self.operand(item)?;
        let op = self.next().unwrap_or_default();
        let right = self.operand(item)?;
        compare(&left, &op, &right)
    }

    fn operand<'v>(&mut self, item: &'v Item) -> Result<Operand<'v>, Refusal>
    where
        'a: 'v,
    {
        match self.next() {
            Some(t) if t.starts_with(':') => Ok(Operand::Literal(self.expr.value(Some(&t))?)),
            token => {
                let name = self.expr.name(token.as_deref())?;
                Ok(Operand::Attribute(item.get(&name)))
            }
        }
    }
}

fn compare(left: &Operand<'_>, op: &str, right: &Operand<'_>) -> Result<bool, Refusal> {
    let value = |o: &Operand<'_>| match *o {
        Operand::Attribute(v) => v.cloned(),
        Operand::Literal(v) => Some(v.clone()),
    };
    let ordering = match (value(left), value(right)) {
        (Some(l), Some(r)) => match (l.get("N"), r.get("N"), l.get("S"), r.get("S")) {
            (Some(Value::String(a)), Some(Value::String(b)), _, _) => {
                match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(a), Ok(b)) => a.partial_cmp(&b),
                    _ => return Err(Refusal::validation("a number value is not a number")),
                }
            }
            (_, _, Some(Value::String(a)), Some(Value::String(b))) => Some(a.cmp(b)),
            // Different types: no comparison holds (DynamoDB evaluates it as false).
            _ => None,
        },
        // An absent attribute makes every comparison false.
        _ => None,
    };
    use std::cmp::Ordering::{Equal, Greater, Less};
    let holds: fn(std::cmp::Ordering) -> bool = match op {
        "=" => |o| o == Equal,
        "<>" => |o| o != Equal,
        "<" => |o| o == Less,
        "<=" => |o| o != Greater,
        ">" => |o| o == Greater,
        ">=" => |o| o != Less,
        _ => {
            return Err(Refusal::validation(
                "the local DynamoDB endpoint supports = <> < <= > >= comparisons only",
            ));
        }
    };
    Ok(ordering.is_some_and(holds))
}
