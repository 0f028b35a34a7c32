//! CUDA GPUs, found by opening the driver library by hand: a machine without a GPU gets an
//! error message instead of the panic burn's CUDA runtime raises in a background thread when it
//! finds no driver.

use std::ffi::{CStr, c_char, c_int, c_uint};

use libloading::{Library, Symbol};

use super::DeviceError;

/// One CUDA GPU as the driver reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaGpu {
    pub index: usize,
    pub name: String,
    pub memory_bytes: u64,
}

/// The CUDA driver's view of the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CudaInfo {
    /// e.g. 13000 for CUDA 13.0.
    pub driver_version: i32,
    pub gpus: Vec<CudaGpu>,
}

type CuInit = unsafe extern "C" fn(c_uint) -> c_int;
type CuCount = unsafe extern "C" fn(*mut c_int) -> c_int;
type CuGet = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
type CuName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
type CuMem = unsafe extern "C" fn(*mut usize, c_int) -> c_int;
type CuVersion = unsafe extern "C" fn(*mut c_int) -> c_int;

fn check(call: &'static str, code: c_int) -> Result<(), DeviceError> {
    if code == 0 {
        Ok(())
    } else {
        Err(DeviceError::Driver { call, code })
    }
}

fn symbol<'l, T>(lib: &'l Library, name: &'static str) -> Result<Symbol<'l, T>, DeviceError> {
    // SAFETY: each symbol is looked up with the signature the CUDA driver API documents.
    unsafe { lib.get(name.as_bytes()) }.map_err(|e| DeviceError::NoDriver(format!("{name}: {e}")))
}

/// Asks the CUDA driver for its version and GPUs.
pub fn cuda_info() -> Result<CudaInfo, DeviceError> {
    // SAFETY: loading the driver runs its initializers, as any CUDA program does.
    let lib = unsafe { Library::new("libcuda.so.1") }
        .map_err(|e| DeviceError::NoDriver(e.to_string()))?;
    let init: Symbol<CuInit> = symbol(&lib, "cuInit")?;
    let version: Symbol<CuVersion> = symbol(&lib, "cuDriverGetVersion")?;
    let count: Symbol<CuCount> = symbol(&lib, "cuDeviceGetCount")?;
    let get: Symbol<CuGet> = symbol(&lib, "cuDeviceGet")?;
    let name: Symbol<CuName> = symbol(&lib, "cuDeviceGetName")?;
    let mem: Symbol<CuMem> = symbol(&lib, "cuDeviceTotalMem_v2")?;
    // SAFETY: the calls follow the driver API: out-pointers to live locals, a name buffer of
    // the length passed, device handles obtained from cuDeviceGet.
    unsafe {
        check("cuInit", init(0))?;
        let mut driver_version = 0;
        check("cuDriverGetVersion", version(&mut driver_version))?;
        let mut n = 0;
        check("cuDeviceGetCount", count(&mut n))?;
        let mut gpus = Vec::new();
        for index in 0..n.max(0) {
            let mut dev = 0;
            check("cuDeviceGet", get(&mut dev, index))?;
            let mut buf = [0 as c_char; 256];
            check(
                "cuDeviceGetName",
                name(buf.as_mut_ptr(), buf.len() as c_int, dev),
            )?;
            let mut bytes = 0usize;
            check("cuDeviceTotalMem", mem(&mut bytes, dev))?;
            gpus.push(CudaGpu {
                index: index as usize,
                name: CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned(),
                memory_bytes: bytes as u64,
            });
        }
        Ok(CudaInfo {
            driver_version,
            gpus,
        })
    }
}

/// Checks that `cuda:<index>` exists before the engine touches it.
pub fn check_cuda_device(index: usize) -> Result<CudaGpu, DeviceError> {
    let info = cuda_info()?;
    let count = info.gpus.len();
    info.gpus
        .into_iter()
        .nth(index)
        .ok_or(DeviceError::NoSuchDevice { index, count })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_machine_without_the_driver_gets_an_error_naming_it() {
        // On a GPU machine this asks the real driver; both outcomes are checked.
        match cuda_info() {
            Err(DeviceError::NoDriver(detail)) => {
                let message = DeviceError::NoDriver(detail).to_string();
                assert!(message.contains("libcuda.so.1"), "{message}");
                assert!(matches!(
                    check_cuda_device(0),
                    Err(DeviceError::NoDriver(_))
                ));
            }
            Ok(info) => {
                let count = info.gpus.len();
                assert_eq!(
                    check_cuda_device(count),
                    Err(DeviceError::NoSuchDevice {
                        index: count,
                        count
                    })
                );
            }
            Err(other) => panic!("unexpected driver error: {other}"),
        }
    }
}
