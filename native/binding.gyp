{
  "targets": [
    {
      "target_name": "shm_native",
      "sources": ["src/addon.cc", "src/scan.cc", "src/view.cc", "src/guard.cc", "src/pool.cc", "src/reduce.cc", "src/simd.cc", "src/fsops.cc", "src/procs.cc", "src/kinds.cc", "src/decompress.cc", "src/npy.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-O3", "-fopenmp-simd", "-fno-trapping-math", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"],
      "libraries": ["-Wl,-Bstatic", "-llz4", "-lzstd", "-Wl,-Bdynamic", "-Wl,--exclude-libs,liblz4.a:libzstd.a"]
    }
  ]
}
