/* nvml_stub: a test stand-in for libnvidia-ml.so.1, loaded by fl-gpucheck and fl-launch
 * through the same dlopen as the real one. (placeholder: helper nvml) */
int nvmlInit_v2(void);
int nvmlInit_v2(void)
{
	return 9; /* NVML_ERROR_DRIVER_NOT_LOADED */
}
