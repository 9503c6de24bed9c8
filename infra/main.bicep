// One deployment of the Dataverse MCP server for one Entra tenant: a resource group holding a Flex Consumption
// function app with a user-assigned managed identity, storage (tables + deployment container, no keys), Key Vault
// (the token-encryption key), Log Analytics + Application Insights, and the Entra app registration that the app
// signs users in with (trusting the managed identity through a federated credential, so there is no client secret).
//
// Every app setting the code reads is assembled in ONE place, `var appSettings` below; tests/infra checks it against
// dataverse/settings.py. Defaults for the policy and tuning parameters live in main.parameters.json (azd syntax
// `${NAME=default}`), where the same test pins them to the Settings defaults.
targetScope = 'subscription'

// --- where and what ------------------------------------------------------------------------------------------------
@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Azure region for every resource. Pick one that offers Flex Consumption (FC1).')
@metadata({ azd: { type: 'location' } })
param location string

@description('Directory (tenant) id. The app registration is created in the tenant you deploy from, so leave the default.')
param tenantId string = tenant().tenantId

// --- Dataverse and policy (maps 1:1 to Settings fields; defaults in main.parameters.json) ---------------------------
@minLength(1)
@description('Comma-separated Dataverse environment URLs, e.g. https://contoso.crm.dynamics.com (DATAVERSE_URLS).')
param dataverseUrls string

@description('Comma-separated redirect URI patterns MCP clients may register; replaces the defaults (ALLOWED_REDIRECT_URIS).')
param allowedRedirectUris string

@description('Comma-separated redirect URI patterns added to the allowed ones (EXTRA_REDIRECT_URIS).')
param extraRedirectUris string = ''

@maxLength(80)
@description('Bulk changes of more rows than this are proposed first and need a confirmation (BULK_CONFIRM_THRESHOLD).')
param bulkConfirmThreshold int = 10

@description('Comma-separated Dataverse actions and functions invoke_action may run; empty: none (ACTION_ALLOWLIST).')
param actionAllowlist string = ''

@description('The model-driven app (appmodule id) record links open in; empty: the user\'s default app (MODEL_DRIVEN_APP_ID).')
param modelDrivenAppId string = ''

@description('Organisation name shown on the consent, sign-in and landing pages (BRANDING_NAME).')
param brandingName string = ''

@description('https URL of a logo shown on those pages (BRANDING_LOGO_URL).')
param brandingLogoUrl string = ''

@description('Accent colour of those pages as #rrggbb (BRANDING_ACCENT_COLOR).')
param brandingAccentColor string

@allowed(['read_only', 'read_write'])
@description('read_only hides every write tool (ACCESS_MODE).')
param accessMode string

@description('false removes the delete tools altogether (ALLOW_DELETE).')
param allowDelete bool

@description('Share Dataverse tokens obtained On-Behalf-Of between instances, encrypted in Table Storage (SHARE_DATAVERSE_TOKENS).')
param shareDataverseTokens bool

@description('Comma-separated logical table names; when set, only these tables are reachable (TABLE_ALLOWLIST).')
param tableAllowlist string = ''

@description('Comma-separated logical table names that are never reachable (TABLE_DENYLIST).')
param tableDenylist string = ''

@description('Comma-separated tables searched when Dataverse search is off (SEARCH_TABLES).')
param searchTables string

@description('Extra Host header values accepted, e.g. a custom domain (ALLOWED_HOSTS).')
param allowedHosts string = ''

@description('Extra browser Origins accepted on /mcp (ALLOWED_ORIGINS).')
param allowedOrigins string = ''

// --- tuning (maps 1:1 to Settings fields; defaults in main.parameters.json) -----------------------------------------
@description('The delegated scope the app registration exposes and the server requests (MCP_SCOPE).')
param mcpScope string

@description('Per-request timeout for Dataverse calls, seconds (DATAVERSE_TIMEOUT_SECONDS).')
param dataverseTimeoutSeconds string

@description('Total time a Dataverse call may spend on 429/5xx retries, seconds (DATAVERSE_RETRY_BUDGET_SECONDS).')
param dataverseRetryBudgetSeconds string

@minValue(60)
@description('Lifetime of the access tokens this server issues (ACCESS_TOKEN_TTL_SECONDS).')
param accessTokenTtlSeconds int

@minValue(3600)
@description('Lifetime of the rotating refresh tokens this server issues (REFRESH_TOKEN_TTL_SECONDS).')
param refreshTokenTtlSeconds int

@minValue(3600)
@description('Lifetime of a dynamic client registration, renewed on use (CLIENT_REGISTRATION_TTL_SECONDS).')
param clientRegistrationTtlSeconds int

@minValue(10)
@description('Lifetime of a delete confirmation token (CONFIRM_TOKEN_TTL_SECONDS).')
param confirmTokenTtlSeconds int

@allowed(['DEBUG', 'INFO', 'WARNING', 'ERROR'])
@description('Log level of the app\'s own loggers (LOG_LEVEL).')
param logLevel string

@description('Comma-separated extra Entra redirect URIs, e.g. http://localhost:7071/oauth/callback for `func start`.')
param entraExtraRedirectUris string = ''

// --- hosting ----------------------------------------------------------------------------------------------------------
@minValue(0)
@maxValue(10)
@description('Instances kept warm for HTTP (no cold start for the first caller). 0 = scale to zero; each one is billed.')
param alwaysReadyInstanceCount int = 1

@allowed([512, 2048, 4096])
@description('Memory per instance, MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Upper bound on instances under load.')
param maximumInstanceCount int = 40

// --- the token-encryption key -----------------------------------------------------------------------------------------
// 32 random characters generated by azd on the first `azd up` and kept in .azure/<env>/config.json, so later runs
// reuse it (a new value on every deploy would sign everybody out). The Key Vault secret is base64 of these 32 bytes:
// TOKEN_ENCRYPTION_KEY must decode to exactly 32 bytes. See "Rotate the token-encryption key" in the README.
@secure()
@minLength(32)
@maxLength(32)
@description('32 random characters; azd generates it. The token-encryption key is base64 of these bytes.')
@metadata({ azd: { type: 'generate', config: { length: 32, noSpecial: true } } })
param tokenEncryptionSeed string

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-dvmcp-${resourceToken}'
var publicBaseUrl = 'https://${functionAppName}.azurewebsites.net'
var loginEndpoint = environment().authentication.loginEndpoint // e.g. https://login.microsoftonline.com/
var entraAuthorityHost = endsWith(loginEndpoint, '/') ? take(loginEndpoint, length(loginEndpoint) - 1) : loginEndpoint

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: { name: 'id-dvmcp-${resourceToken}', location: location, tags: tags }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: { resourceToken: resourceToken, location: location, tags: tags }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stdvmcp${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${resourceToken}'
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-dvmcp-${resourceToken}'
    location: location
    tags: tags
    tokenEncryptionKey: base64(tokenEncryptionSeed)
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

// Step 1 of 2: create the registration (its appId is only known after creation).
module entraApp 'app/entra-app.bicep' = {
  name: 'entraApp'
  scope: rg
  params: {
    uniqueName: 'dataverse-mcp-${resourceToken}'
    displayName: 'Dataverse MCP (${environmentName})'
  }
}

// Every setting the app reads (upper-case Settings field names) plus the Functions platform settings.
// Local-only settings (ENTRA_CLIENT_SECRET, ENTRA_CERTIFICATE_*, STORAGE_CONNECTION_STRING) are deliberately absent.
var appSettings = {
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  PUBLIC_BASE_URL: publicBaseUrl
  ALLOWED_HOSTS: allowedHosts
  ALLOWED_ORIGINS: allowedOrigins
  DATAVERSE_URLS: dataverseUrls
  DATAVERSE_TIMEOUT_SECONDS: dataverseTimeoutSeconds
  DATAVERSE_RETRY_BUDGET_SECONDS: dataverseRetryBudgetSeconds
  ENTRA_TENANT_ID: tenantId
  ENTRA_CLIENT_ID: entraApp.outputs.appId
  ENTRA_AUTHORITY_HOST: entraAuthorityHost
  MANAGED_IDENTITY_CLIENT_ID: identity.outputs.clientId
  MCP_SCOPE: mcpScope
  TOKEN_ENCRYPTION_KEY: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.tokenEncryptionKeyUri})'
  ACCESS_TOKEN_TTL_SECONDS: string(accessTokenTtlSeconds)
  REFRESH_TOKEN_TTL_SECONDS: string(refreshTokenTtlSeconds)
  SHARE_DATAVERSE_TOKENS: shareDataverseTokens ? 'true' : 'false'
  CLIENT_REGISTRATION_TTL_SECONDS: string(clientRegistrationTtlSeconds)
  ALLOWED_REDIRECT_URIS: allowedRedirectUris
  EXTRA_REDIRECT_URIS: extraRedirectUris
  BULK_CONFIRM_THRESHOLD: string(bulkConfirmThreshold)
  ACTION_ALLOWLIST: actionAllowlist
  MODEL_DRIVEN_APP_ID: modelDrivenAppId
  BRANDING_NAME: brandingName
  BRANDING_LOGO_URL: brandingLogoUrl
  BRANDING_ACCENT_COLOR: brandingAccentColor
  STORAGE_TABLE_ENDPOINT: storage.outputs.tableEndpoint
  ACCESS_MODE: accessMode
  ALLOW_DELETE: allowDelete ? 'true' : 'false'
  TABLE_ALLOWLIST: tableAllowlist
  TABLE_DENYLIST: tableDenylist
  SEARCH_TABLES: searchTables
  CONFIRM_TOKEN_TTL_SECONDS: string(confirmTokenTtlSeconds)
  LOG_LEVEL: logLevel
}

module functionApp 'app/function-app.bicep' = {
  name: 'functionApp'
  scope: rg
  dependsOn: [rbac] // the Key Vault reference and AzureWebJobsStorage need the roles before the host starts
  params: {
    name: functionAppName
    planName: 'plan-dvmcp-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    deploymentContainerUrl: '${storage.outputs.blobEndpoint}${storage.outputs.deploymentContainerName}'
    alwaysReadyInstanceCount: alwaysReadyInstanceCount
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    appSettings: appSettings
  }
}

// Step 2 of 2: now that appId and host name are known, set identifierUris api://<appId>, the MCP scope, the
// callback, the Dataverse permission and the federated credential trusting the managed identity.
module entraAppConfig 'app/entra-app-config.bicep' = {
  name: 'entraAppConfig'
  scope: rg
  params: {
    uniqueName: entraApp.outputs.uniqueName
    displayName: 'Dataverse MCP (${environmentName})'
    appId: entraApp.outputs.appId
    tenantId: tenantId
    mcpScope: mcpScope
    redirectUri: '${publicBaseUrl}/oauth/callback'
    extraRedirectUris: map(filter(split(entraExtraRedirectUris, ','), uri => !empty(trim(uri))), uri => trim(uri))
    managedIdentityPrincipalId: identity.outputs.principalId
  }
}

// --- what azd prints and stores in .azure/<env>/.env --------------------------------------------------------------
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = functionApp.outputs.name
output SERVICE_API_URI string = publicBaseUrl
output ENTRA_TENANT_ID string = tenantId
output ENTRA_CLIENT_ID string = entraApp.outputs.appId
output ENTRA_IDENTIFIER_URI string = entraAppConfig.outputs.identifierUri
output MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output KEY_VAULT_NAME string = keyVault.outputs.name
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
@description('Paste this into ChatGPT / Claude / VS Code as the MCP server URL.')
output MCP_URL string = '${publicBaseUrl}/mcp'
@description('Open this once as a Global/Privileged Role/Cloud Application Administrator to grant tenant-wide consent.')
output ADMIN_CONSENT_URL string = '${entraAuthorityHost}/${tenantId}/adminconsent?client_id=${entraApp.outputs.appId}'
