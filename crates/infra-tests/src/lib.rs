//! The repository's own `infra/template.yaml` for the tests in `tests/`, read through the
//! template model of crate `sam-template`.

pub use sam_template::*;
use std::path::{Path, PathBuf};

/// The workspace root of the checkout these tests were built from.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Path of the SAM template.
pub fn template_path() -> PathBuf {
    workspace_root().join("infra/template.yaml")
}

/// The parsed template; a test fails here if it is not readable.
pub fn template() -> Template {
    let path = template_path();
    Template::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
