//! Brute-force blocks (`/api/v2/user-blocks`): the IP/account blocks brute-force protection
//! sets after failed logins. Not the admin `blocked` flag (see [`crate::UserPatch`]): neither
//! call clears the other.
//!
//! By user id (`/user-blocks/{id}`, id percent-encoded as one path segment) or by identifier
//! (`/user-blocks?identifier=`: username, email or phone, encoded as a query value). Reading
//! needs `read:users`, deleting `update:users`.

use crate::{
    Auth0Client, Deadline, decode,
    error::{Call, Error},
    http::encode,
    non_empty, path_segment,
};
use reqwest::Method;
use serde::Deserialize;
use std::fmt;

/// `{"blocked_for": [...]}`; empty when nothing is blocked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UserBlocks {
    #[serde(default)]
    pub blocked_for: Vec<BlockedFor>,
}

impl UserBlocks {
    pub fn is_empty(&self) -> bool {
        self.blocked_for.is_empty()
    }
}

/// One block: an identifier blocked from one IP. `Debug` shows the connection only.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct BlockedFor {
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    #[serde(default)]
    pub connection: Option<String>,
}

impl fmt::Debug for BlockedFor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| {
            if v.is_some() {
                "Some(<redacted>)"
            } else {
                "None"
            }
        };
        f.debug_struct("BlockedFor")
            .field(
                "identifier",
                &format_args!("{}", redacted(&self.identifier)),
            )
            .field("ip", &format_args!("{}", redacted(&self.ip)))
            .field("connection", &self.connection)
            .finish()
    }
}

impl Auth0Client {
    /// The user's brute-force blocks. `GET /api/v2/user-blocks/{id}`.
    pub async fn get_user_blocks(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<UserBlocks, Error> {
        let call = Call::GetUserBlocks;
        let id = path_segment(call, user_id)?;
        let req = self.management_req(call, Method::GET, &by_id(&id));
        let body = self.management(&req, deadline).await?;
        decode(call, &body)
    }

    /// The brute-force blocks of an identifier (username, email or phone).
    /// `GET /api/v2/user-blocks?identifier=`.
    pub async fn get_user_blocks_by_identifier(
        &self,
        identifier: &str,
        deadline: &Deadline,
    ) -> Result<UserBlocks, Error> {
        let call = Call::GetUserBlocksByIdentifier;
        non_empty(call, identifier)?;
        let req = self.management_req(call, Method::GET, &by_identifier(identifier));
        let body = self.management(&req, deadline).await?;
        decode(call, &body)
    }

    /// Clears the user's brute-force blocks (not the admin flag). `DELETE /api/v2/user-blocks/{id}`.
    pub async fn delete_user_blocks(
        &self,
        user_id: &str,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let call = Call::DeleteUserBlocks;
        let id = path_segment(call, user_id)?;
        let req = self.management_req(call, Method::DELETE, &by_id(&id));
        self.management(&req, deadline).await.map(drop)
    }

    /// Clears an identifier's brute-force blocks. `DELETE /api/v2/user-blocks?identifier=`.
    pub async fn delete_user_blocks_by_identifier(
        &self,
        identifier: &str,
        deadline: &Deadline,
    ) -> Result<(), Error> {
        let call = Call::DeleteUserBlocksByIdentifier;
        non_empty(call, identifier)?;
        let req = self.management_req(call, Method::DELETE, &by_identifier(identifier));
        self.management(&req, deadline).await.map(drop)
    }
}

/// `id` already encoded ([`path_segment`]).
fn by_id(id: &str) -> String {
    format!("/api/v2/user-blocks/{id}")
}

fn by_identifier(identifier: &str) -> String {
    format!("/api/v2/user-blocks?identifier={}", encode(identifier))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ErrorKind,
        testing::{self, ADDRESS, IP, TOKEN},
    };
    use serde_json::json;
    use std::time::Duration;
    use test_support::auth0::{self, RawQuery};
    use test_support::logs::{Capture, assert_no_email_addresses};
    use wiremock::{
        Mock, MockServer, ResponseTemplate,
        matchers::{header, method, path},
    };

    fn deadline() -> Deadline {
        Deadline::after(Duration::from_secs(10))
    }

    fn blocks_json() -> serde_json::Value {
        json!({"blocked_for": [
            {"identifier": ADDRESS, "ip": IP, "connection": "Username-Password-Authentication"}
        ]})
    }

    fn expected() -> UserBlocks {
        UserBlocks {
            blocked_for: vec![BlockedFor {
                identifier: Some(ADDRESS.into()),
                ip: Some(IP.into()),
                connection: Some("Username-Password-Authentication".into()),
            }],
        }
    }

    #[tokio::test]
    async fn get_by_id_and_by_identifier_send_encoded_requests() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 1).await;
        auth0::mount_user_blocks(&server, "auth0%7Cabc", TOKEN, blocks_json(), 1).await;
        Mock::given(method("GET"))
            .and(path("/api/v2/user-blocks"))
            .and(RawQuery("identifier=jane%2Bshop%40example.com"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"blocked_for": []})))
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        let blocks = client
            .get_user_blocks("auth0|abc", &deadline())
            .await
            .unwrap();
        assert_eq!(blocks, expected());
        assert!(!blocks.is_empty());
        let none = client
            .get_user_blocks_by_identifier(ADDRESS, &deadline())
            .await
            .unwrap();
        assert!(none.is_empty());
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn delete_by_id_and_by_identifier() {
        let (capture, _guard) = Capture::install();
        let server = auth0::start(TOKEN, 1).await;
        auth0::mount_delete_user_blocks(&server, "auth0%7Cabc", TOKEN).await;
        Mock::given(method("DELETE"))
            .and(path("/api/v2/user-blocks"))
            .and(RawQuery("identifier=jane%2Bshop%40example.com"))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        client
            .delete_user_blocks("auth0|abc", &deadline())
            .await
            .unwrap();
        client
            .delete_user_blocks_by_identifier(ADDRESS, &deadline())
            .await
            .unwrap();
        assert_no_email_addresses(&capture.text());
    }

    #[tokio::test]
    async fn delete_is_retried_on_a_server_error_and_404_is_not_found() {
        let server = auth0::start(TOKEN, 1).await;
        let delete = auth0::management_call("DELETE", "/api/v2/user-blocks/auth0%7Cabc", TOKEN);
        auth0::mount_once(&server, delete, ResponseTemplate::new(500)).await;
        auth0::mount_delete_user_blocks(&server, "auth0%7Cabc", TOKEN).await;
        let gone = "/api/v2/user-blocks/auth0%7Cgone";
        auth0::mount_user_not_found(&server, "DELETE", gone).await;
        let client = testing::client(&server);
        client
            .delete_user_blocks("auth0|abc", &deadline())
            .await
            .unwrap();
        let err = client
            .delete_user_blocks("auth0|gone", &deadline())
            .await
            .unwrap_err();
        assert_eq!(err.call, Call::DeleteUserBlocks);
        assert_eq!(err.kind, ErrorKind::NotFound);
        assert_eq!(err.error_code.as_deref(), Some("inexistent_user"));
    }

    #[tokio::test]
    async fn an_empty_identifier_sends_nothing() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(ResponseTemplate::new(204))
            .expect(0)
            .mount(&server)
            .await;
        let client = testing::client(&server);
        for err in [
            client
                .delete_user_blocks_by_identifier("", &deadline())
                .await,
            client.delete_user_blocks("", &deadline()).await,
            client.get_user_blocks("", &deadline()).await.map(drop),
            client
                .get_user_blocks_by_identifier("", &deadline())
                .await
                .map(drop),
        ] {
            assert_eq!(err.unwrap_err().kind, ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn debug_hides_identifier_and_ip() {
        let debug = format!("{:?}", expected());
        testing::assert_clean(&debug);
        assert!(
            debug.contains("Username-Password-Authentication"),
            "{debug}"
        );
    }
}
