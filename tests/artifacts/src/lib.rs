//! The guest components, built for the host's tests.
//!
//! Depending on this crate (as a dev-dependency of `autopack-host`) builds
//! every component of the guest workspace `plugins/Cargo.toml` — the
//! first-party providers in `plugins/*` and the test guests in
//! `tests/guests/*` — for `wasm32-wasip2` into `target/guests`, so a test
//! never needs a `.wasm` copied by hand. The build script reruns when a guest,
//! the WIT contract or the guest workspace changes.
//!
//! What it provides, all generated from the guest manifests:
//!
//! - one `&str` constant per component holding its absolute path, named after
//!   the package in upper snake case: `GUEST_WELLBEHAVED`, `HOSTILE_LOOP`,
//!   `AUTOPACK_EXAMPLE`…;
//! - [`ALL`], every `(package name, path)`, and [`HOSTILE`], the hostile
//!   guests as identifiers (`hostile_loop`);
//! - the macro `foreach_hostile!`, which calls `$mac!(hostile_x);` once for
//!   every `hostile-x` guest.
//!
//! # Every hostile guest has a test
//!
//! The host's hostile test file names one test function after each hostile
//! guest, and proves at compile time that none is missing:
//!
//! ```text
//! use autopack_test_artifacts::{foreach_hostile, HOSTILE_LOOP};
//!
//! macro_rules! assert_test_exists {
//!     ($name:ident) => {
//!         #[allow(unused_imports)]
//!         use self::$name as _;
//!     };
//! }
//! foreach_hostile!(assert_test_exists);
//!
//! #[tokio::test]
//! async fn hostile_loop() {
//!     // run HOSTILE_LOOP's `spin` and expect the CPU-limit error
//! }
//! // ... one `async fn hostile_<x>()` per guest in tests/guests/hostile-*
//! ```
//!
//! Adding `tests/guests/hostile-new` without a `fn hostile_new` in that file
//! is then a compile error (`unresolved import self::hostile_new`), not a
//! silently untested attack. Both halves of that claim are checked here:
//!
//! ```compile_fail
//! // No test functions: the check must not compile.
//! macro_rules! assert_test_exists {
//!     ($name:ident) => {
//!         #[allow(unused_imports)]
//!         use self::$name as _;
//!     };
//! }
//! autopack_test_artifacts::foreach_hostile!(assert_test_exists);
//! fn main() {}
//! ```
//!
//! ```
//! // One function per hostile guest: the check compiles.
//! macro_rules! define_test {
//!     ($name:ident) => {
//!         #[allow(dead_code)]
//!         fn $name() {}
//!     };
//! }
//! autopack_test_artifacts::foreach_hostile!(define_test);
//! macro_rules! assert_test_exists {
//!     ($name:ident) => {
//!         #[allow(unused_imports)]
//!         use self::$name as _;
//!     };
//! }
//! autopack_test_artifacts::foreach_hostile!(assert_test_exists);
//! fn main() {}
//! ```
//!
//! The macro can also be used to list the guests:
//!
//! ```
//! let mut names: Vec<&str> = Vec::new();
//! macro_rules! collect {
//!     ($name:ident) => {
//!         names.push(stringify!($name));
//!     };
//! }
//! autopack_test_artifacts::foreach_hostile!(collect);
//! assert_eq!(names, autopack_test_artifacts::HOSTILE);
//! ```

include!(concat!(env!("OUT_DIR"), "/guests.rs"));

/// The path of the component built from `package` (e.g. `"hostile-loop"`).
pub fn path(package: &str) -> Option<&'static str> {
    ALL.iter()
        .find(|(name, _)| *name == package)
        .map(|(_, path)| *path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_was_built() {
        assert!(!ALL.is_empty());
        for (name, path) in ALL {
            let meta = std::fs::metadata(path);
            assert!(
                meta.as_ref().is_ok_and(|m| m.len() > 0),
                "{name}: {path}: {meta:?}"
            );
        }
    }

    #[test]
    fn names_and_paths_agree() {
        assert_eq!(path("hostile-loop"), Some(HOSTILE_LOOP));
        assert_eq!(path("guest-wellbehaved"), Some(GUEST_WELLBEHAVED));
        assert_eq!(path("autopack-example"), Some(AUTOPACK_EXAMPLE));
        assert_eq!(path("autopack-sdk"), None);
        for name in HOSTILE {
            assert!(path(&name.replace('_', "-")).is_some(), "{name}");
        }
    }
}
