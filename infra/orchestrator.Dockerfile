# Orchestrator (ASP.NET Core) plus the migrator, for hosts with Docker. Build from the repository root:
#   docker build -f infra/orchestrator.Dockerfile -t kimia/orchestrator .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish orchestrator/KimiAudio.Orchestrator/KimiAudio.Orchestrator.csproj -c Release -o /app \
 && dotnet publish migrations/KimiAudio.Migrator/KimiAudio.Migrator.csproj -c Release -o /app/migrator

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
ENV ASPNETCORE_HTTP_PORTS=8080
EXPOSE 8080
USER app
ENTRYPOINT ["dotnet", "KimiAudio.Orchestrator.dll"]
