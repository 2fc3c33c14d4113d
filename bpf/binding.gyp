{
  "targets": [
    {
      "target_name": "leash_bpf",
      "sources": [
        "src/native/addon.cc",
        "src/native/file_rules.cc",
        "src/native/file_guard.cc",
        "src/native/change_guard.cc",
        "src/native/change_metadata.cc",
        "src/native/connect_guard.cc",
        "src/native/connect_rules.cc",
        "src/native/exec_rules.cc",
        "src/native/exec_judge.cc",
        "src/native/exec_guard.cc",
        "src/native/exec_argv.cc",
        "src/native/lsm_guard.cc",
        "src/native/lsm_rules.cc",
        "src/native/lsm_probe.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    },
    {
      "target_name": "leash_launch",
      "type": "none",
      "actions": [
        {
          # Docker makes a directory at a bind-mount source that is missing (a session started
          # while the addon was being rebuilt): such a directory is replaced, not moved into.
          "action_name": "build_static_launcher",
          "inputs": ["src/launcher/leash-launch.c"],
          "outputs": ["<(PRODUCT_DIR)/leash-launch"],
          "action": [
            "sh", "-c",
            "gcc -static -O2 -Wall -Wextra -o <(PRODUCT_DIR)/leash-launch.tmp <@(_inputs) && { [ ! -d <(PRODUCT_DIR)/leash-launch ] || rm -rf <(PRODUCT_DIR)/leash-launch; } && mv -fT <(PRODUCT_DIR)/leash-launch.tmp <(PRODUCT_DIR)/leash-launch"
          ]
        }
      ]
    }
  ]
}
