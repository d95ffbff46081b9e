# Flower SuperNode appliance image (bring your own image): Ubuntu 24.04, Docker CE, flkit, flwr/supernode pre-pulled.
# packer build -only=qemu.supernode -var-file=flkit.pkrvars.hcl .   (README.md)
build {
  source "source.qemu.flkit" {
    name             = "supernode"
    iso_url          = var.base_image_url
    iso_checksum     = var.base_image_checksum
    disk_size        = "12000M"
    vm_name          = "flower-supernode.qcow2"
    output_directory = "${var.output_dir}/supernode"
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
    environment_vars = ["FLKIT_ROLE=supernode", "FLOWER_VERSION=${var.flower_version}"]
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
    output         = "${var.output_dir}/supernode/flower-supernode.qcow2.{{.ChecksumType}}"
  }
}
