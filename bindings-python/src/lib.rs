//! `synapsestream_auth._native`: the pyo3 extension module behind the Python
//! package `synapsestream_auth`.
//!
//! Thin on purpose: every behaviour (caching, single-flight refresh, retries,
//! the circuit breaker, JWT checks, configuration parsing) lives in
//! `synapse-auth-core`. This crate converts arguments, results and errors,
//! releases the GIL around anything that can block, bridges core futures to
//! asyncio, and forwards core's `tracing` events to Python's `logging`.

mod asyncio;
mod client;
mod convert;
mod errors;
mod logging;
mod response;
mod token;

use pyo3::prelude::*;

/// The native half of `synapsestream_auth`; import the package, not this module.
#[pymodule]
#[pyo3(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<client::Client>()?;
    m.add_class::<token::AccessToken>()?;
    m.add_class::<response::Response>()?;
    m.add_class::<asyncio::Ready>()?;
    m.add("CONFIG_KEYS", synapse_auth_core::CONFIG_KEYS.to_vec())?;
    m.add("ERROR_CODES", synapse_auth_core::ErrorKind::ALL.iter().map(|k| k.code()).collect::<Vec<_>>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    logging::install();
    Ok(())
}
