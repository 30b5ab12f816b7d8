//! The records in a DynamoDB table (layout: [`mod@crate::store`]).

use crate::{
    AddressKey, Change, HistoryError, HistoryStore, StoreFuture,
    store::{
        ADDRESS_KEY, CHANGE_ID, CHANGED_AT, CHANGED_BY, CONVERSATION_ID, EXPIRES_AT,
        NEW_ADDRESS_MASKED, SOURCE_ID, USER_ID, by_attributes, by_from_attributes, live,
    },
};
use aws_sdk_dynamodb::{
    Client,
    error::{ProvideErrorMetadata, SdkError},
    types::AttributeValue,
};
use std::collections::HashMap;

/// Items read per `Query` page.
const PAGE: usize = 100;

/// The history in a DynamoDB table: `PutItem` to record, `Query` to read (the only two
/// operations, so a writer's role needs only `dynamodb:PutItem` and a reader's only
/// `dynamodb:Query`).
#[derive(Debug, Clone)]
pub struct DynamoDbHistory {
    client: Client,
    table: String,
}

impl DynamoDbHistory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The service's error code, or what kind of failure kept it from answering.
fn error<E: ProvideErrorMetadata, R>(operation: &'static str, e: SdkError<E, R>) -> HistoryError {
    let code = match &e {
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .unwrap_or("unknown service error")
            .to_owned(),
        SdkError::TimeoutError(_) => "timeout".to_owned(),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => "timeout".to_owned(),
        SdkError::DispatchFailure(_) => "dispatch failure".to_owned(),
        SdkError::ResponseError(_) => "unreadable response".to_owned(),
        SdkError::ConstructionFailure(_) => "request construction failure".to_owned(),
        _ => "unknown failure".to_owned(),
    };
    HistoryError::Store { operation, code }
}

type Item = HashMap<String, AttributeValue>;

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// A change and its `expires_at` from an item, or the name of the attribute that is wrong.
fn parse(item: &Item) -> Result<(Change, i64), &'static str> {
    let by = by_from_attributes(
        text(item, CHANGED_BY).ok_or(CHANGED_BY)?,
        text(item, CONVERSATION_ID),
    )
    .ok_or(CHANGED_BY)?;
    let change = Change {
        previous: text(item, ADDRESS_KEY)
            .and_then(AddressKey::from_hex)
            .ok_or(ADDRESS_KEY)?,
        user_id: text(item, USER_ID).ok_or(USER_ID)?.to_owned(),
        changed_at: number(item, CHANGED_AT).ok_or(CHANGED_AT)?,
        by,
        new_address_masked: text(item, NEW_ADDRESS_MASKED)
            .ok_or(NEW_ADDRESS_MASKED)?
            .to_owned(),
        source_id: text(item, SOURCE_ID).ok_or(SOURCE_ID)?.to_owned(),
    };
    Ok((change, number(item, EXPIRES_AT).ok_or(EXPIRES_AT)?))
}

impl HistoryStore for DynamoDbHistory {
    fn record(&self, change: &Change, expires_at: i64) -> StoreFuture<'_, ()> {
        if let Err(e) = change.check() {
            return Box::pin(std::future::ready(Err(e)));
        }
        let (by, conversation_id) = by_attributes(&change.by);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(ADDRESS_KEY, s(change.previous.as_str()))
            .item(CHANGE_ID, s(&change.change_id()))
            .item(USER_ID, s(&change.user_id))
            .item(CHANGED_AT, n(change.changed_at))
            .item(CHANGED_BY, s(by))
            .item(NEW_ADDRESS_MASKED, s(&change.new_address_masked))
            .item(SOURCE_ID, s(&change.source_id))
            .item(EXPIRES_AT, n(expires_at));
        let put = match conversation_id {
            Some(id) => put.item(CONVERSATION_ID, s(id)),
            None => put,
        };
        Box::pin(async move {
            put.send().await.map_err(|e| error("PutItem", e))?;
            Ok(())
        })
    }

    fn changes_of(
        &self,
        previous: &AddressKey,
        limit: usize,
        now: i64,
    ) -> StoreFuture<'_, Vec<Change>> {
        let previous = previous.as_str().to_owned();
        Box::pin(async move {
            let mut changes = Vec::new();
            let mut start = None;
            while changes.len() < limit {
                let page = i32::try_from(limit.min(PAGE)).unwrap_or(1);
                let out = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#k = :k")
                    .expression_attribute_names("#k", ADDRESS_KEY)
                    .expression_attribute_values(":k", s(&previous))
                    .scan_index_forward(false)
                    .consistent_read(true)
                    .limit(page)
                    .set_exclusive_start_key(start.take())
                    .send()
                    .await
                    .map_err(|e| error("Query", e))?;
                for item in out.items() {
                    match parse(item) {
                        Ok((change, expires_at)) if live(expires_at, now) => changes.push(change),
                        Ok(_) => {}
                        // Not written by this crate: left out, named by attribute only.
                        Err(attribute) => {
                            tracing::warn!(attribute, "email history record unreadable, skipped")
                        }
                    }
                }
                match out.last_evaluated_key {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => break,
                }
            }
            changes.truncate(limit);
            Ok(changes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_missing_an_attribute_is_named_by_it() {
        let mut item: Item = [
            (ADDRESS_KEY, s(&"a".repeat(64))),
            (CHANGE_ID, s("000000000001#log")),
            (USER_ID, s("auth0|1")),
            (CHANGED_AT, n(1)),
            (CHANGED_BY, s("agent")),
            (CONVERSATION_ID, s("42")),
            (NEW_ADDRESS_MASKED, s("j***@example.org")),
            (SOURCE_ID, s("log")),
            (EXPIRES_AT, n(2)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let (change, expires_at) = parse(&item).unwrap();
        assert_eq!(expires_at, 2);
        assert_eq!(
            change.by,
            crate::ChangedBy::Agent {
                conversation_id: "42".into()
            }
        );
        item.remove(CONVERSATION_ID);
        assert_eq!(parse(&item).unwrap_err(), CHANGED_BY);
        item.insert(ADDRESS_KEY.into(), s("jane@example.com"));
        item.insert(CHANGED_BY.into(), s("customer"));
        assert_eq!(parse(&item).unwrap_err(), ADDRESS_KEY);
    }
}
