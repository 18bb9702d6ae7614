//! The sans-IO loader engine: inputs and time in, actions out.
