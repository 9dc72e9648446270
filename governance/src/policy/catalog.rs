//! The providers' catalog: which domains exist and the effect of each of their operations.
//!
//! The host builds it from the loaded plugins' `describe()` output; policies are checked
//! against it, and the decision reads an operation's effect from it. A domain that is not in
//! the catalog does not exist (I1).

use crate::effect::Effect;
use crate::ids::{Domain, IdError, OperationName};
use std::collections::BTreeMap;

/// Domain → operation → effect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    domains: BTreeMap<Domain, BTreeMap<OperationName, Effect>>,
}

impl Catalog {
    /// An empty catalog: no provider is configured.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Builds a catalog from `(domain, operation, effect)` triples, validating the names.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str, Effect)>,
    ) -> Result<Catalog, IdError> {
        let mut catalog = Catalog::new();
        for (domain, operation, effect) in entries {
            catalog.insert(domain.parse()?, operation.parse()?, effect);
        }
        Ok(catalog)
    }

    /// Adds (or replaces) one operation of a domain.
    pub fn insert(&mut self, domain: Domain, operation: OperationName, effect: Effect) {
        self.domains
            .entry(domain)
            .or_default()
            .insert(operation, effect);
    }

    /// Whether a provider serves `domain`.
    pub fn has_domain(&self, domain: &Domain) -> bool {
        self.domains.contains_key(domain)
    }

    /// The effect of `operation` in `domain`, if the provider has it.
    pub fn effect(&self, domain: &Domain, operation: &OperationName) -> Option<Effect> {
        self.domains
            .get(domain)
            .and_then(|ops| ops.get(operation))
            .copied()
    }

    /// Every domain.
    pub fn domains(&self) -> impl Iterator<Item = &Domain> {
        self.domains.keys()
    }

    /// Every operation of `domain` with its effect.
    pub fn operations(&self, domain: &Domain) -> impl Iterator<Item = (&OperationName, Effect)> {
        self.domains
            .get(domain)
            .into_iter()
            .flat_map(|ops| ops.iter().map(|(o, e)| (o, *e)))
    }
}
