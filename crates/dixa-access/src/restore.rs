//! What both Dixa functions hold a `restore_email` to, besides the token (issue 19: an account
//! whose address was changed away, by its owner or by whoever took it over, gets it back).
//!
//! - **Which address.** Only the one the look-up was for: dixa-get-user finds the moved account
//!   in the email history under that address and mints its token with
//!   [`ActionTokens::mint_with_restore`](crate::ActionTokens::mint_with_restore), and
//!   dixa-patch-user accepts a body naming exactly that address
//!   ([`ActionTokens::may_restore`](crate::ActionTokens::may_restore)). So no request can set any
//!   other, and an account the history has no change for under that address has no binding.
//! - **When the address is taken** ([`address_taken`]): the look-up offers the restore only
//!   while it is free, and dixa-patch-user asks `users-by-email` again before it writes.

use auth0_client::User;

/// Whether another account stands in the way of giving `account` an address that `holders`
/// (the accounts `users-by-email` finds for it now) have.
///
/// Auth0 keeps one account per address *per connection*: the address is taken when another
/// holder signs in on the connection of `account`'s primary identity (on any of its
/// identities). A holder on another connection (the customer's own Google login with the same
/// address) does not stand in the way; one whose connections are unknown (no identities), or
/// any holder when `account`'s own connection is unknown, does.
pub fn address_taken(account: &User, holders: &[User]) -> bool {
    let connection = account.identities.first().map(|i| i.connection.as_str());
    holders
        .iter()
        .filter(|holder| holder.user_id != account.user_id)
        .any(|holder| match connection {
            Some(connection) if !holder.identities.is_empty() => holder.has_connection(connection),
            _ => true,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user(user_id: &str, connections: &[&str]) -> User {
        let identities: Vec<_> = connections
            .iter()
            .map(|c| json!({"connection": c, "provider": "auth0", "user_id": "1"}))
            .collect();
        serde_json::from_value(json!({
            "user_id": user_id, "email": "jane@example.com", "identities": identities
        }))
        .unwrap()
    }

    const DB: &str = "Username-Password-Authentication";

    #[test]
    fn only_another_account_on_the_same_connection_takes_the_address() {
        let moved = user("auth0|moved", &[DB]);
        let cases = [
            (vec![], false),
            // The account itself (it has the address already: the handler says so first).
            (vec![user("auth0|moved", &[DB])], false),
            (vec![user("google-oauth2|1", &["google-oauth2"])], false),
            (vec![user("auth0|other", &[DB])], true),
            // A linked identity on the same connection counts.
            (vec![user("google-oauth2|2", &["google-oauth2", DB])], true),
            // Connections unknown: taken, to be safe.
            (vec![user("auth0|other", &[])], true),
            (
                vec![
                    user("google-oauth2|1", &["google-oauth2"]),
                    user("auth0|other", &[DB]),
                ],
                true,
            ),
        ];
        for (holders, taken) in cases {
            let ids: Vec<&str> = holders.iter().map(|h| h.user_id.as_str()).collect();
            assert_eq!(address_taken(&moved, &holders), taken, "{ids:?}");
        }
        // The moved account's own connection unknown: any other holder takes it.
        let unknown = user("auth0|moved", &[]);
        assert!(address_taken(
            &unknown,
            &[user("google-oauth2|1", &["google-oauth2"])]
        ));
        assert!(!address_taken(&unknown, &[]));
    }
}
