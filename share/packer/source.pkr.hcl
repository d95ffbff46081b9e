# The build VM every variant starts from: a one-apps Ubuntu 24.04 image under QEMU, with a
# CONTEXT CD (context/context.sh) that configures its NIC and a root login for the build only.
# Each variant's build block names it and sets the base image (Packer lets a build set only
# what the source leaves unset), the disk size and the output.
source "qemu" "flkit" {
  disk_image     = true
  format         = "qcow2"
  disk_interface = "virtio"
  accelerator    = var.accelerator
  cpus           = var.cpus
  memory         = var.memory
  headless       = var.headless

  cd_files = ["${path.root}/context/context.sh"]
  cd_label = "CONTEXT"
  # The MAC that context.sh configures (ETH0_MAC); SSH reaches the VM on a port of 127.0.0.1.
  qemuargs = [
    ["-netdev", "user,id=user.0,hostfwd=tcp::{{ .SSHHostPort }}-:22"],
    ["-device", "virtio-net-pci,netdev=user.0,mac=00:11:22:33:44:55"],
  ]

  ssh_username     = "root"
  ssh_password     = "flkit-build"
  ssh_timeout      = "20m"
  shutdown_command = "poweroff"

  # The zero-filled free space (scripts/90-cleanup.sh) compresses away: qemu-img convert -c.
  disk_compression = true
}
