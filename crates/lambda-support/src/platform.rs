//! What a function is built from besides its own code: its settings, the AWS SDK
//! configuration, and where its stores keep their records.
//!
//! Each function crate exports one `bootstrap(&Platform)` that turns a platform into a ready
//! handler. Its `main` calls it with [`Platform::lambda`] (the process environment, AWS
//! services); the local run calls the same function with [`Platform::local`] (an environment
//! whose endpoints are loopback, stores in memory). So the two worlds differ in where things
//! are, never in how a handler is built: a setting a function starts to read is read in both.
//!
//! A store (send-email's dedupe record, ...) is a trait in its function crate with an AWS
//! implementation and an in-memory one; `bootstrap` picks the memory one when
//! [`Platform::memory`] gives a [`MemoryStores`], which hands every container of the local run
//! the same instance per store name, as every Lambda container shares one table.

use crate::{Env, LazyAws, time::Clock};
use std::{
    any::{Any, TypeId},
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// What a config loader calls for a Secrets Manager client (only when a setting names a
/// secret's ARN), from a [`Platform`]. A macro, not a method: the loaders take an `AsyncFn`,
/// which only a closure written at the call site satisfies, and this one owns its handle, so
/// the start-up future stays `Send` (the local run spawns it; a borrowing closure would not be).
#[macro_export]
macro_rules! secrets_manager {
    ($platform:expr) => {{
        let aws = $platform.aws_access();
        move || {
            let aws = ::std::sync::Arc::clone(&aws);
            async move { aws.secrets_manager().await }
        }
    }};
}

/// Why a function could not be built. Its message names settings, never their values.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting is missing or invalid, or a secret could not be read.
    #[error("configuration error: {0}")]
    Config(#[source] BoxError),
    /// A client could not be built from valid settings.
    #[error("could not build the clients: {0}")]
    Clients(#[source] BoxError),
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl StartError {
    pub fn config(e: impl Into<BoxError>) -> Self {
        Self::Config(e.into())
    }

    pub fn clients(e: impl Into<BoxError>) -> Self {
        Self::Clients(e.into())
    }
}

/// A function's settings, its AWS access and its stores' home.
#[derive(Debug)]
pub struct Platform {
    env: Env,
    aws: Arc<LazyAws>,
    memory: Option<MemoryStores>,
    clock: Clock,
}

impl Platform {
    /// On Lambda: the process environment; the SDK configuration and stores are AWS's.
    pub fn lambda() -> Self {
        Self::aws(Env::from_process())
    }

    /// AWS services with the settings in `env` (tests: a moto endpoint in `AWS_ENDPOINT_URL`).
    pub fn aws(env: Env) -> Self {
        Self {
            aws: Arc::new(LazyAws::from_env(env.clone())),
            env,
            memory: None,
            clock: Clock::default(),
        }
    }

    /// The local run: `env`'s endpoints are loopback and the stores live in `memory`.
    pub fn local(env: Env, memory: MemoryStores, clock: Clock) -> Self {
        Self {
            aws: Arc::new(LazyAws::from_env(env.clone())),
            env,
            memory: Some(memory),
            clock,
        }
    }

    /// The same platform reading time from `clock` (tests move it instead of sleeping).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The wall clock in production; a clock tests and the local run can move.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The SDK configuration (built at the first use) and the Secrets Manager client, shared
    /// (see [`secrets_manager!`](crate::secrets_manager)).
    pub fn aws_access(&self) -> Arc<LazyAws> {
        Arc::clone(&self.aws)
    }

    /// `Some` in the local run: stores keep their records here instead of in AWS.
    pub fn memory(&self) -> Option<&MemoryStores> {
        self.memory.as_ref()
    }
}

/// In-memory stores shared by every container of a local run, one per type and name (the
/// table's name): cloning shares them.
#[derive(Clone, Default)]
pub struct MemoryStores {
    stores: Arc<Mutex<StoreMap>>,
}

type StoreMap = HashMap<(TypeId, String), Arc<dyn Any + Send + Sync>>;

impl std::fmt::Debug for MemoryStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStores").finish_non_exhaustive()
    }
}

impl MemoryStores {
    /// The store of type `T` named `name`, made empty at the first call.
    pub fn get<T: Default + Send + Sync + 'static>(&self, name: &str) -> Arc<T> {
        let mut stores = self.stores.lock().unwrap_or_else(|e| e.into_inner());
        let entry = stores
            .entry((TypeId::of::<T>(), name.to_owned()))
            .or_insert_with(|| Arc::new(T::default()));
        match Arc::clone(entry).downcast::<T>() {
            Ok(store) => store,
            // Unreachable: the key carries T's TypeId. A fresh store rather than a panic.
            Err(_) => Arc::new(T::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Counter(Mutex<u32>);

    #[test]
    fn one_store_per_type_and_name_shared_by_clones() {
        let memory = MemoryStores::default();
        let shared = memory.clone();
        *memory.get::<Counter>("a").0.lock().unwrap() += 1;
        assert_eq!(*shared.get::<Counter>("a").0.lock().unwrap(), 1);
        assert_eq!(*shared.get::<Counter>("b").0.lock().unwrap(), 0);
        #[derive(Default)]
        struct Other(Mutex<u32>);
        assert_eq!(*shared.get::<Other>("a").0.lock().unwrap(), 0);
    }

    #[test]
    fn the_local_platform_has_memory_and_the_aws_one_not() {
        let env = Env::from_pairs([("X", "1")]);
        assert!(Platform::aws(env.clone()).memory().is_none());
        let local = Platform::local(env, MemoryStores::default(), Clock::default());
        assert!(local.memory().is_some());
        assert_eq!(local.env().optional("X").as_deref(), Some("1"));
    }
}
