# Flower SuperLink appliance image: Ubuntu 24.04, Docker CE, flkit, flwr/superlink pre-pulled.
# packer build -only=qemu.superlink -var-file=flkit.pkrvars.hcl .   (README.md)
build {
  source "source.qemu.flkit" {
    name             = "superlink"
    iso_url          = var.base_image_url
    iso_checksum     = var.base_image_checksum
    disk_size        = "10000M"
    vm_name          = "flower-superlink.qcow2"
    output_directory = "${var.output_dir}/superlink"
  }

  provisioner "shell" {
    inline = ["mkdir -p /tmp/one-apps/lib"]
  }
  provisioner "file" {
    source      = var.flkit_deb
    destination = "/tmp/flkit.deb"
  }
  provisioner "file" {
    sources     = ["${var.one_apps_dir}/appliances/service.sh", "${var.one_apps_dir}/appliances/scripts/net-90-service-appliance"]
    destination = "/tmp/one-apps/"
  }
  provisioner "file" {
    sources     = ["${var.one_apps_dir}/appliances/lib/common.sh", "${var.one_apps_dir}/appliances/lib/functions.sh"]
    destination = "/tmp/one-apps/lib/"
  }
  provisioner "shell" {
    environment_vars = ["FLKIT_ROLE=superlink", "FLOWER_VERSION=${var.flower_version}"]
    scripts = [
      "${path.root}/scripts/10-base.sh",
      "${path.root}/scripts/20-docker.sh",
      "${path.root}/scripts/30-flkit.sh",
      "${path.root}/scripts/40-one-apps.sh",
      "${path.root}/scripts/90-cleanup.sh",
    ]
  }

  post-processor "checksum" {
    checksum_types = ["md5", "sha256"]
    output         = "${var.output_dir}/superlink/flower-superlink.qcow2.{{.ChecksumType}}"
  }
}
