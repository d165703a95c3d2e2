//! The static list of driver factories, greppable in one place.

use std::sync::Arc;

use counter_agent_driver_api::{Discovered, DriverFactory};

/// Driver factories by connection scheme.
#[derive(Clone, Default)]
pub struct Registry {
    factories: Vec<Arc<dyn DriverFactory>>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    pub fn with(mut self, factory: Arc<dyn DriverFactory>) -> Registry {
        self.factories.push(factory);
        self
    }

    pub fn factory_for(&self, scheme: &str) -> Option<Arc<dyn DriverFactory>> {
        self.factories.iter().find(|f| f.schemes().contains(&scheme)).cloned()
    }

    /// Every scheme some factory opens.
    pub fn schemes(&self) -> Vec<&'static str> {
        self.factories.iter().flat_map(|f| f.schemes().iter().copied()).collect()
    }

    /// Runs every factory's discovery.
    pub fn discover(&self) -> Vec<(&'static str, Vec<Discovered>)> {
        self.factories.iter().map(|f| (f.name(), f.discover())).collect()
    }
}
