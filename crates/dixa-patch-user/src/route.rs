//! `/users/{user_id}/{action}`: which account and which action a request names.
//!
//! The last three decoded path segments ([`dixa_access::path_segments`]) must be `users`,
//! the Auth0 user id and one of the nine action names ([`Action::ALL`]); anything before them (the stage
//! `lambda_http` adds to REST paths, a custom-domain base path) is ignored. The user id
//! arrives percent-encoded (`auth0%7C64f0...`) and is decoded here (`auth0|64f0...`).

use dixa_access::{Action, path_segments};
use lambda_http::Request;

/// The longest user id accepted (Auth0's are far shorter).
pub const MAX_USER_ID_LEN: usize = 512;

/// The account and the action a request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRoute {
    /// Decoded Auth0 user id, e.g. `auth0|64f0c0ffee`.
    pub user_id: String,
    pub action: Action,
}

/// `None` for any other path (404).
pub fn parse(req: &Request) -> Option<ActionRoute> {
    let segments = path_segments(req)?;
    let [.., users, user_id, action] = segments.as_slice() else {
        return None;
    };
    if users != "users" || user_id.len() > MAX_USER_ID_LEN {
        return None;
    }
    Some(ActionRoute {
        user_id: user_id.clone(),
        action: action.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Body;

    fn at(path: &str) -> Option<ActionRoute> {
        let req = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!("https://api.example.com{path}"))
            .body(Body::Empty)
            .unwrap();
        parse(&req)
    }

    fn route(user_id: &str, action: Action) -> Option<ActionRoute> {
        Some(ActionRoute {
            user_id: user_id.into(),
            action,
        })
    }

    #[test]
    fn routes_with_or_without_stage_and_base_path() {
        for path in [
            "/users/auth0%7C123/block",
            "/Prod/users/auth0%7C123/block",
            "/dixa/users/auth0%7c123/block/",
            "/Prod/users/auth0|123/block",
        ] {
            assert_eq!(at(path), route("auth0|123", Action::Block), "{path}");
        }
        for action in Action::ALL {
            assert_eq!(
                at(&format!("/users/google-oauth2%7C1/{}", action.as_str())),
                route("google-oauth2|1", action)
            );
        }
        // An id holding an encoded slash stays one segment.
        assert_eq!(
            at("/users/samlp%7CCorp%7Cjane%2Fx/unblock"),
            route("samlp|Corp|jane/x", Action::Unblock)
        );
    }

    #[test]
    fn anything_else_is_not_routed() {
        for path in [
            "/users/auth0%7C123/delete",
            "/users/auth0%7C123/Block",
            "/users/auth0%7C123",
            "/users//block",
            "/accounts/auth0%7C123/block",
            "/users/auth0%7C123/block/extra",
            "/users/%E9/block",
            "/users/%zz/block",
            "/",
        ] {
            assert_eq!(at(path), None, "{path}");
        }
        let long = "a".repeat(MAX_USER_ID_LEN + 1);
        assert_eq!(at(&format!("/users/{long}/block")), None);
    }
}
