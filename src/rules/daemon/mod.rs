//! Section 2 of the CIS Docker Benchmark and the seed rules: the daemon's
//! own options (`daemon.*`). One file per rule; [`helpers`] holds what
//! several of them share.

pub mod authorization_plugin;
pub mod base_device_size;
pub mod cgroup_parent;
pub mod config_valid;
pub mod default_ulimits;
pub mod experimental;
mod helpers;
pub mod icc;
pub mod insecure_registries;
pub mod iptables;
pub mod live_restore;
pub mod log_level;
pub mod no_new_privileges;
pub mod remote_api_auth;
pub mod remote_api_tls;
pub mod remote_logging;
pub mod rootless;
pub mod seccomp_profile;
pub mod storage_driver_aufs;
pub mod storage_driver_devicemapper;
pub mod userland_proxy;
pub mod userns_remap;
