//! Phase 2: a parsed policy against the providers' catalog.

use super::{Catalog, Policy, PolicyError, PolicyErrorKind};
use crate::effect::Tier;

impl Policy {
    /// Checks this policy against the catalog; `Err` carries every problem found.
    pub fn check(&self, catalog: &Catalog) -> Result<(), Vec<PolicyError>> {
        let errors = self.check_errors(catalog);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub(crate) fn check_errors(&self, catalog: &Catalog) -> Vec<PolicyError> {
        let mut errors = Vec::new();
        let file = self.file.as_str();
        for (domain, dp) in &self.domains {
            let key = format!("domains.{domain}");
            if !catalog.has_domain(domain) {
                errors.push(PolicyError::new(
                    file,
                    Some(dp.line),
                    key,
                    PolicyErrorKind::UnknownDomain(domain.to_string()),
                ));
                continue;
            }
            for (op, line) in &dp.operations {
                if catalog.effect(domain, op).is_none() {
                    errors.push(PolicyError::new(
                        file,
                        Some(*line),
                        format!("{key}.operations"),
                        PolicyErrorKind::UnknownOperation {
                            domain: domain.to_string(),
                            operation: op.to_string(),
                        },
                    ));
                }
            }
            for (op, (tier, line)) in &dp.raise_tier {
                if let Some(effect) = catalog.effect(domain, op) {
                    let base = effect.base_tier();
                    if *tier < base {
                        errors.push(PolicyError::new(
                            file,
                            Some(*line),
                            format!("{key}.raise_tier.{op}"),
                            PolicyErrorKind::TierLowered {
                                operation: op.to_string(),
                                base: base.to_string(),
                                requested: tier.to_string(),
                            },
                        ));
                    }
                }
            }
            for (op, line) in &dp.auto_approve {
                if let Some(effect) = catalog.effect(domain, op)
                    && self.tier(domain, op, effect) == Tier::C
                {
                    errors.push(PolicyError::new(
                        file,
                        Some(*line),
                        format!("{key}.auto_approve"),
                        PolicyErrorKind::AutoApproveTierC(op.to_string()),
                    ));
                }
            }
        }
        errors
    }
}
