# GPU worker, for hosts with Docker, an NVIDIA driver and the NVIDIA container toolkit. Build from the repository root:
#   docker build -f infra/worker.Dockerfile -t kimia/worker .
# It is built with the CUDA libtorch (-p:KimiAudioTorchBackend=cuda -> package libtorch-cuda-12.8-linux-x64 2.10.0). That
# package (several GB, split in parts) comes from the public NuGet feed; the feed mirrored on the dev/CI machines does NOT
# serve it, so this image cannot be built there. libtorch's CUDA package carries cuBLAS/cuDNN itself; the base image only
# has to match the CUDA 12.8 runtime and the host driver provides libcuda.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish workers/KimiAudio.Worker/KimiAudio.Worker.csproj -c Release -p:KimiAudioTorchBackend=cuda -o /app

# Silero VAD v5 (segmentation at pauses, Segmentation:Mode=Vad): the ONNX file from the npm package that ships it, as
# infra/services.sh install takes it (same version and SHA-256)
FROM node:20-slim AS vad
WORKDIR /vad
RUN npm pack @ricky0123/vad-web@0.0.31 --loglevel=error \
 && tar xzf ricky0123-vad-web-0.0.31.tgz package/dist/silero_vad_v5.onnx \
 && echo "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f  package/dist/silero_vad_v5.onnx" | sha256sum -c -

# the ASP.NET Core runtime: the worker serves /health/* and /metrics with Kestrel (Worker__HttpPort, default 8080)
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble AS dotnet

FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04
# ffmpeg: the audio decoder's fallback for FLAC and other containers. The .NET runtime is copied from Microsoft's image
# (InvariantGlobalization is on, so no ICU is needed).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates libssl3t64 zlib1g \
 && rm -rf /var/lib/apt/lists/*
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_RUNNING_IN_CONTAINER=true
WORKDIR /app
COPY --from=build /app .
COPY --from=vad /vad/package/dist/silero_vad_v5.onnx /app/models/silero_vad_v5.onnx
ENV Segmentation__VadModelPath=/app/models/silero_vad_v5.onnx
EXPOSE 8080
ENTRYPOINT ["dotnet", "KimiAudio.Worker.dll"]
