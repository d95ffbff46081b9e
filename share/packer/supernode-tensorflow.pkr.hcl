# Flower SuperNode - TensorFlow: the SuperNode image plus flower-supernode-tensorflow built in.
# packer build -only=qemu.supernode-tensorflow -var-file=flkit.pkrvars.hcl .   (README.md)
build {
  source "source.qemu.flkit" {
    name             = "supernode-tensorflow"
    iso_url          = var.base_image_url
    iso_checksum     = var.base_image_checksum
    disk_size        = "12000M"
    vm_name          = "flower-supernode-tensorflow.qcow2"
    output_directory = "${var.output_dir}/supernode-tensorflow"
  }

  provisioner "shell" {
    inline = ["mkdir -p /tmp/one-apps/lib /tmp/docker"]
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
  provisioner "file" {
    source      = "${path.root}/docker/supernode-tensorflow"
    destination = "/tmp/docker/"
  }
  provisioner "shell" {
    environment_vars = ["FLKIT_ROLE=supernode", "FLOWER_VERSION=${var.flower_version}", "ML_FRAMEWORK=tensorflow", "DOCKER_BUILDX=yes"]
    scripts = [
      "${path.root}/scripts/10-base.sh",
      "${path.root}/scripts/20-docker.sh",
      "${path.root}/scripts/30-flkit.sh",
      "${path.root}/scripts/40-one-apps.sh",
      "${path.root}/scripts/50-framework.sh",
      "${path.root}/scripts/90-cleanup.sh",
    ]
  }

  post-processor "checksum" {
    checksum_types = ["md5", "sha256"]
    output         = "${var.output_dir}/supernode-tensorflow/flower-supernode-tensorflow.qcow2.{{.ChecksumType}}"
  }
}
