{
  "targets": [
    {
      "target_name": "leash_bpf",
      "sources": [
        "src/native/addon.cc",
        "src/native/file_rules.cc",
        "src/native/file_guard.cc",
        "src/native/connect_guard.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"],
      "libraries": ["-lbpf", "-lelf", "-lz"]
    }
  ]
}
