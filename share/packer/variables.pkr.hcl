# Variables every flkit appliance template shares (superlink, supernode and its variants).
# Required (no default): the flkit package, a one-apps checkout and the base images.

variable "flkit_deb" {
  type        = string
  description = "Path of the flkit .deb to install (dpkg-buildpackage -b, on Ubuntu 24.04)"
}

variable "one_apps_dir" {
  type        = string
  description = "A checkout of github.com/OpenNebula/one-apps (service.sh, lib/, net-90)"
}

variable "base_image_url" {
  type        = string
  description = "one-apps Ubuntu 24.04 image (one-context installed), qcow2"
}

variable "base_image_checksum" {
  type        = string
  description = "Checksum of base_image_url, e.g. sha256:<hex>"
}

variable "edge_image_url" {
  type        = string
  description = "one-apps Ubuntu 24.04 Minimal image for supernode-edge, qcow2"
}

variable "edge_image_checksum" {
  type        = string
  description = "Checksum of edge_image_url, e.g. sha256:<hex>"
}

variable "flower_version" {
  type        = string
  default     = "1.25.0"
  description = "Flower release whose images service install pulls (the edge image bakes only this one)"
}

variable "output_dir" {
  type        = string
  default     = "output"
  description = "Directory that receives one folder per variant (<variant>/<variant>.qcow2)"
}

variable "accelerator" {
  type    = string
  default = "kvm"
}

variable "cpus" {
  type    = number
  default = 2
}

variable "memory" {
  type        = number
  default     = 4096
  description = "MiB of the build VM; pip installs of the framework images need 4 GiB"
}

variable "headless" {
  type    = bool
  default = true
}
